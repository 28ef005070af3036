import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * What the bot put in a chat: a screen (a message with a keyboard, with the callback data of its
 * inline buttons) or a note (plain text: a notice, a notification, an apology).
 */
export interface ScreenEvent {
  type: "screen";
  kind: "screen" | "note";
  chatId: number;
  messageId: number;
  /** Callback data per keyboard row; empty for a reply keyboard or a note. */
  rows: string[][];
  /** The start of the message text. */
  text: string;
}

export const BENCH_BOT = { id: 900_000_777, is_bot: true, first_name: "Mahalla Connect", username: "mc_bench_bot" };

type Payload = Record<string, unknown>;

/**
 * A lean Telegram Bot API stand-in on 127.0.0.1 for the benchmark: it answers at once, keeps no
 * history (only counters), and reports every screen (a message with a keyboard) to `onScreen`,
 * which the orchestrator forwards to the load generator so it can press the buttons it was shown.
 */
export class BenchBotApi {
  readonly calls = new Map<string, number>();
  /**
   * Messages that only take a reply keyboard away before a screen with buttons (bot/citizen.ts):
   * Telegram gives a message one keyboard, so that removal cannot ride on the screen itself.
   */
  keyboardRemovals = 0;
  onScreen: ((event: ScreenEvent) => void) | undefined;
  private nextMessageId = 1_000;
  private server: Server | undefined;
  url = "";

  /** `removalNotices`: the bot's "received" line in every language, as the locale files have it. */
  constructor(private readonly removalNotices: ReadonlySet<string> = new Set()) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  totalCalls(): number {
    let total = 0;
    for (const n of this.calls.values()) total += n;
    return total;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const method = (req.url ?? "").split("?")[0]?.split("/").pop() ?? "";
    let payload: Payload = {};
    try {
      const raw = Buffer.concat(chunks).toString("utf8");
      payload = raw ? (JSON.parse(raw) as Payload) : {};
    } catch {
      // grammY sends multipart only for file uploads, which the bot never does.
    }
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    const result = this.answer(method, payload);
    const body =
      result === undefined
        ? { ok: false, error_code: 404, description: "Not Found: method not found" }
        : { ok: true, result };
    res.writeHead(result === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  private answer(method: string, p: Payload): unknown {
    const chatId = Number(p.chat_id);
    const date = Math.floor(Date.now() / 1000);
    switch (method) {
      case "getMe":
        return BENCH_BOT;
      case "sendMessage":
      case "sendLocation": {
        const markup = p.reply_markup as { remove_keyboard?: boolean } | undefined;
        if (markup?.remove_keyboard === true && typeof p.text === "string" && this.removalNotices.has(p.text)) {
          this.keyboardRemovals++;
        }
        const messageId = ++this.nextMessageId;
        this.report(chatId, messageId, p.reply_markup, p.text);
        return { message_id: messageId, date, chat: { id: chatId, type: "private" }, from: BENCH_BOT, text: p.text };
      }
      case "editMessageText": {
        const messageId = Number(p.message_id);
        this.report(chatId, messageId, p.reply_markup, p.text);
        return { message_id: messageId, date, chat: { id: chatId, type: "private" }, from: BENCH_BOT, text: p.text };
      }
      case "editMessageReplyMarkup":
        return { message_id: Number(p.message_id), date, chat: { id: chatId, type: "private" }, from: BENCH_BOT };
      case "getUpdates":
        return [];
      case "answerCallbackQuery":
      case "setMyCommands":
      case "setWebhook":
      case "deleteWebhook":
      case "deleteMessage":
      case "setChatMenuButton":
      case "sendChatAction":
        return true;
      default:
        return undefined;
    }
  }

  /** A message with a keyboard is a screen; anything else (e.g. "keyboard removed") is a note. */
  private report(chatId: number, messageId: number, markup: unknown, text: unknown) {
    if (!this.onScreen) return;
    const m = (markup && typeof markup === "object" ? markup : {}) as {
      inline_keyboard?: { callback_data?: string }[][];
      keyboard?: unknown;
    };
    const head = typeof text === "string" ? text.slice(0, 60) : "";
    if (m.inline_keyboard) {
      const rows = m.inline_keyboard.map((row) => row.map((b) => b.callback_data ?? ""));
      this.onScreen({ type: "screen", kind: "screen", chatId, messageId, rows, text: head });
    } else if (m.keyboard) {
      this.onScreen({ type: "screen", kind: "screen", chatId, messageId, rows: [], text: head });
    } else {
      this.onScreen({ type: "screen", kind: "note", chatId, messageId, rows: [], text: head });
    }
  }
}
