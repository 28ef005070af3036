import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface AtRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  form: Record<string, string>;
}

export type AtReply = { status: number; body: unknown } | "hang";

/**
 * A local stand-in for Africa's Talking's SMS API on 127.0.0.1: records every request and answers
 * from a script (a successful send by default, with a fresh message id).
 */
export class AtDouble {
  readonly requests: AtRequest[] = [];
  /** Answers for the next requests, in order; then the default success. */
  script: AtReply[] = [];
  private server: Server | undefined;
  private count = 0;

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = "";
      req.on("data", (chunk: Buffer) => {
        raw += chunk.toString();
      });
      req.on("end", () => {
        const form = Object.fromEntries(new URLSearchParams(raw));
        this.requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, form });
        const reply = this.script.shift() ?? this.success(form.to ?? "");
        if (reply === "hang") return;
        res.writeHead(reply.status, { "content-type": "application/json" });
        res.end(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return this;
  }

  success(number: string): AtReply {
    this.count++;
    return {
      status: 201,
      body: {
        SMSMessageData: {
          Message: "Sent to 1/1 Total Cost: UZS 150",
          Recipients: [
            { statusCode: 101, number, status: "Success", cost: "UZS 150", messageId: `ATXid_double_${this.count}` },
          ],
        },
      },
    };
  }

  static recipientStatus(statusCode: number, status: string): AtReply {
    return {
      status: 201,
      body: {
        SMSMessageData: {
          Message: "Sent to 0/1",
          Recipients: [{ statusCode, number: "+998901234567", status, cost: "0", messageId: "None" }],
        },
      },
    };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
