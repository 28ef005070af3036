/**
 * A minimal HTTP/1.1 keep-alive client over one TCP socket, one request at a time: what a virtual
 * gateway needs and nothing more. node:http costs the generator about three times the CPU per
 * request, CPU the server under test shares on a 2-core machine.
 */
import { Socket } from "node:net";

export interface Answer {
  status: number;
  body: string;
}

export class RequestFailed extends Error {
  constructor(readonly kind: "network" | "timeout") {
    super(kind);
  }
}

const HEAD_END = Buffer.from("\r\n\r\n");

interface Pending {
  resolve: (answer: Answer) => void;
  reject: (err: RequestFailed) => void;
  timer: NodeJS.Timeout;
}

export class KeepAliveClient {
  private socket: Socket | undefined;
  private connected: Promise<void> | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  async post(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
    await this.connect();
    const payload = Buffer.from(body, "utf8");
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\ncontent-length: ${payload.length}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    const request = Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), payload]);
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new RequestFailed("timeout")), this.timeoutMs);
      this.pending = { resolve, reject, timer };
      this.socket?.write(request);
    });
  }

  /** Opens the connection ahead of the first request. */
  open(): Promise<void> {
    return this.connect();
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.connected = undefined;
  }

  private connect(): Promise<void> {
    if (this.connected) return this.connected;
    const socket = new Socket();
    socket.setNoDelay(true);
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    // Events of a socket already replaced must not touch its successor.
    const current = () => this.socket === socket;
    this.connected = new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.on("error", () => {
        reject(new RequestFailed("network"));
        if (current()) this.fail(new RequestFailed("network"));
      });
    });
    socket.on("data", (chunk: Buffer) => {
      if (current()) this.onData(chunk);
    });
    socket.on("close", () => {
      if (current()) this.fail(new RequestFailed("network"));
    });
    socket.connect(this.port, this.host);
    return this.connected;
  }

  /** Drops the connection and rejects the request in flight, if any. */
  private fail(err: RequestFailed) {
    const pending = this.pending;
    this.pending = undefined;
    this.close();
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
  }

  private onData(chunk: Buffer) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const answer = this.parse();
    if (!answer || !this.pending) return;
    const pending = this.pending;
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.resolve(answer);
  }

  /** A complete response at the start of the buffer (consumed), or null while it is still arriving. */
  private parse(): Answer | null {
    const headEnd = this.buffer.indexOf(HEAD_END);
    if (headEnd < 0) return null;
    const head = this.buffer.toString("latin1", 0, headEnd).toLowerCase();
    const status = Number(head.slice(9, 12));
    const start = headEnd + 4;
    const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
    if (length) {
      const end = start + Number(length[1]);
      if (this.buffer.length < end) return null;
      const body = this.buffer.toString("utf8", start, end);
      this.buffer = this.buffer.subarray(end);
      return { status, body };
    }
    if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
      const parts: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = this.buffer.indexOf("\r\n", at);
        if (lineEnd < 0) return null;
        const size = Number.parseInt(this.buffer.toString("latin1", at, lineEnd), 16);
        if (this.buffer.length < lineEnd + 2 + size + 2) return null;
        if (size === 0) {
          this.buffer = this.buffer.subarray(lineEnd + 4);
          return { status, body: Buffer.concat(parts).toString("utf8") };
        }
        parts.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    // No length and not chunked: only an empty answer (e.g. 204) can be complete here.
    this.buffer = this.buffer.subarray(start);
    return { status, body: "" };
  }
}
