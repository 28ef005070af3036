import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { UserFromGetMe } from "grammy/types";

export type Payload = Record<string, unknown>;

export interface RecordedCall {
  method: string;
  payload: Payload;
  /** What the double answered: a result, or an error code. */
  ok: boolean;
  errorCode?: number;
  /** Carried by the webhook's HTTP answer rather than a Bot API call of the bot's own. */
  viaWebhookReply?: boolean;
}

export interface ShownMessage {
  chatId: number;
  messageId: number;
  text: string;
  replyMarkup: Payload | undefined;
  /** A map pin (sendLocation). */
  location?: { latitude: number; longitude: number };
}

interface Failure {
  remaining: number;
  method?: string;
  error_code: number;
  description: string;
  retry_after?: number;
}

interface Hold {
  matches: (method: string, payload: Payload) => boolean;
  reached: () => void;
  released: Promise<void>;
}

export const BOT_INFO: UserFromGetMe = {
  id: 900_000_001,
  is_bot: true,
  first_name: "Mahalla Connect",
  username: "mahalla_connect_test_bot",
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};

/**
 * A local stand-in for the Telegram Bot API on 127.0.0.1: it answers the methods the bot calls,
 * records every call, remembers what each chat shows, and can fail (429 with retry_after, 5xx),
 * refuse connections, hang, or hold calls to let a test arrange an interleaving.
 */
export class TelegramDouble {
  readonly calls: RecordedCall[] = [];
  /**
   * Every call as it arrives, before holds and failures (calls records it when answered), with
   * when its request began to arrive (performance.now(), the test process's clock).
   */
  readonly arrivals: { method: string; payload: Payload; at: number }[] = [];
  private readonly messages = new Map<number, Map<number, ShownMessage>>();
  private readonly nextId = new Map<number, number>();
  private readonly failures: Failure[] = [];
  private readonly holds: Hold[] = [];
  private readonly updates: Payload[] = [];
  private server: Server | undefined;
  private port = 0;
  /** While set, every call waits this long before it is answered (an API that hangs). */
  private hangMs = 0;
  /** Calls dropped because the client gave up while the double hung. */
  abandoned = 0;
  url = "";
  /** What setWebhook registered (undefined: none, updates go to getUpdates). */
  webhook: { url: string; secretToken?: string; allowedUpdates?: string[] } | undefined;

  async start(): Promise<this> {
    await this.listen(0);
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** Stops listening: calls get ECONNREFUSED until `comeBack()` (same port, same chats). */
  async refuseConnections(): Promise<void> {
    await this.close();
  }

  /** Listens again on the same port after `refuseConnections()`. */
  async comeBack(): Promise<void> {
    if (!this.server) await this.listen(this.port);
    this.hangMs = 0;
  }

  /**
   * Every call from now waits `ms` before it is looked at (0: answer at once again). A call whose
   * client disconnects meanwhile (its timeout) is dropped unseen, as by a server that hung before
   * processing it.
   */
  hang(ms: number): void {
    this.hangMs = ms;
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    // Node closes a keep-alive connection after 5 s idle; a call the bot makes on it at that very
    // moment fails with "socket hang up" (a test once did, on a busy machine). Telegram keeps them
    // far longer, as the bench's double does (bench/tg-double.ts).
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** The next `count` calls (of `method`, if given) fail with this error. */
  failNext(count: number, error: { error_code: number; description: string; retry_after?: number }, method?: string) {
    this.failures.push({ remaining: count, ...error, ...(method ? { method } : {}) });
  }

  /** Calls matching `matches` wait until `release()`; `reached` resolves when the first one arrives. */
  hold(matches: (method: string, payload: Payload) => boolean): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const reachedPromise = new Promise<void>((r) => {
      reached = r;
    });
    const hold: Hold = { matches, reached, released };
    this.holds.push(hold);
    return {
      reached: reachedPromise,
      release: () => {
        this.holds.splice(this.holds.indexOf(hold), 1);
        release();
      },
    };
  }

  /** An update for getUpdates (long polling). */
  queueUpdate(update: Payload) {
    this.updates.push(update);
  }

  callsOf(method: string, chatId?: number): RecordedCall[] {
    return this.calls.filter(
      (c) => c.method === method && (chatId === undefined || Number(c.payload.chat_id) === chatId),
    );
  }

  /** Messages the chat shows now, oldest first. */
  shown(chatId: number): ShownMessage[] {
    return [...(this.messages.get(chatId)?.values() ?? [])];
  }

  last(chatId: number): ShownMessage | undefined {
    return this.shown(chatId).at(-1);
  }

  message(chatId: number, messageId: number): ShownMessage | undefined {
    return this.messages.get(chatId)?.get(messageId);
  }

  /** Text of every message sent to the chat, in order. */
  sentTexts(chatId: number): string[] {
    return this.callsOf("sendMessage", chatId)
      .filter((c) => c.ok)
      .map((c) => String(c.payload.text));
  }

  /**
   * A call that came back in a webhook's answer (Telegram makes it on the bot's behalf): recorded
   * and answered like any other, flagged `viaWebhookReply`.
   */
  async replyCall(method: string, payload: Payload): Promise<void> {
    this.arrivals.push({ method, payload, at: performance.now() });
    const body = await this.answer(method, payload);
    this.calls.push({
      method,
      payload,
      ok: body.ok === true,
      viaWebhookReply: true,
      ...(body.ok === true ? {} : { errorCode: Number(body.error_code) }),
    });
  }

  /** Calls the bot made over HTTP itself (not carried by a webhook answer). */
  apiCalls(): RecordedCall[] {
    return this.calls.filter((c) => !c.viaWebhookReply);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const at = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const method = (req.url ?? "").split("/").pop() ?? "";
    const payload = (raw ? JSON.parse(raw) : {}) as Payload;
    this.arrivals.push({ method, payload, at });
    if (this.hangMs > 0 && !(await this.outlasts(res, this.hangMs))) {
      this.abandoned++;
      return;
    }
    for (const hold of [...this.holds]) {
      if (hold.matches(method, payload)) {
        hold.reached();
        await hold.released;
      }
    }
    const failure = this.failures.find((f) => f.remaining > 0 && (!f.method || f.method === method));
    let body: Payload;
    let status = 200;
    if (failure) {
      failure.remaining--;
      status = failure.error_code;
      body = {
        ok: false,
        error_code: failure.error_code,
        description: failure.description,
        ...(failure.retry_after !== undefined ? { parameters: { retry_after: failure.retry_after } } : {}),
      };
    } else {
      body = await this.answer(method, payload);
      if (body.ok === false) status = Number(body.error_code);
    }
    this.calls.push({
      method,
      payload,
      ok: body.ok === true,
      ...(body.ok === true ? {} : { errorCode: Number(body.error_code) }),
    });
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  /** Waits `ms`, or until the client goes away; true when the client is still there. */
  private outlasts(res: ServerResponse, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        res.off("close", gone);
        resolve(!res.destroyed);
      }, ms);
      const gone = () => {
        clearTimeout(timer);
        resolve(false);
      };
      res.once("close", gone);
    });
  }

  private async answer(method: string, p: Payload): Promise<Payload> {
    const ok = (result: unknown) => ({ ok: true, result });
    const bad = (description: string) => ({ ok: false, error_code: 400, description: `Bad Request: ${description}` });
    const chatId = Number(p.chat_id);
    switch (method) {
      case "getMe":
        return ok(BOT_INFO);
      case "setMyCommands":
      case "answerCallbackQuery":
        return ok(true);
      case "setWebhook": {
        // As Telegram: only HTTPS, on the ports it supports.
        const url = typeof p.url === "string" ? p.url : "";
        if (!/^https:\/\/[^/:]+(:(443|80|88|8443))?(\/|$)/.test(url)) {
          return bad("bad webhook: An HTTPS URL must be provided for webhook");
        }
        this.webhook = {
          url,
          ...(typeof p.secret_token === "string" ? { secretToken: p.secret_token } : {}),
          ...(Array.isArray(p.allowed_updates) ? { allowedUpdates: p.allowed_updates.map(String) } : {}),
        };
        return ok(true);
      }
      case "deleteWebhook":
        this.webhook = undefined;
        return ok(true);
      case "getWebhookInfo":
        return ok({
          url: this.webhook?.url ?? "",
          has_custom_certificate: false,
          pending_update_count: this.updates.length,
          ...(this.webhook?.allowedUpdates ? { allowed_updates: this.webhook.allowedUpdates } : {}),
        });
      case "getUpdates": {
        if (this.updates.length === 0) await new Promise((r) => setTimeout(r, 50));
        return ok(this.updates.splice(0));
      }
      case "sendMessage":
      case "sendLocation": {
        if (!Number.isFinite(chatId)) return bad("chat not found");
        const messageId = (this.nextId.get(chatId) ?? 1000) + 1;
        this.nextId.set(chatId, messageId);
        const shown: ShownMessage = {
          chatId,
          messageId,
          text: method === "sendMessage" ? String(p.text) : "",
          replyMarkup: p.reply_markup as Payload | undefined,
          ...(method === "sendLocation"
            ? { location: { latitude: Number(p.latitude), longitude: Number(p.longitude) } }
            : {}),
        };
        const chat = this.messages.get(chatId) ?? new Map<number, ShownMessage>();
        chat.set(messageId, shown);
        this.messages.set(chatId, chat);
        return ok({
          message_id: messageId,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: "private", first_name: "Test" },
          from: BOT_INFO,
          ...(method === "sendMessage" ? { text: shown.text } : { location: shown.location }),
        });
      }
      case "editMessageText":
      case "editMessageReplyMarkup": {
        const message = this.messages.get(chatId)?.get(Number(p.message_id));
        if (!message) return bad("message to edit not found");
        const text = method === "editMessageText" ? String(p.text) : message.text;
        const markup = p.reply_markup as Payload | undefined;
        if (text === message.text && JSON.stringify(markup) === JSON.stringify(message.replyMarkup)) {
          return bad("message is not modified: specified new message content and reply markup are exactly the same");
        }
        message.text = text;
        message.replyMarkup = markup;
        return ok({
          message_id: message.messageId,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: "private" },
          text,
        });
      }
      case "deleteMessage": {
        const deleted = this.messages.get(chatId)?.delete(Number(p.message_id));
        return deleted ? ok(true) : bad("message to delete not found");
      }
      default:
        return { ok: false, error_code: 404, description: "Not Found: method not found" };
    }
  }
}
