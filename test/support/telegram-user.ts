import type { FastifyInstance } from "fastify";
import type { Payload, ShownMessage, TelegramDouble } from "./telegram-double.js";

let updateCounter = 500_000;
let userMessageCounter = 1;
let queryCounter = 1;

export const nextUpdateId = () => ++updateCounter;

/**
 * The webhook answers once an update is recorded and the bot handles it afterwards: for a server
 * registered here, `TelegramUser.post` also waits until that update is handled (its screen is on
 * the double) before it returns, so a test reads the screen the update led to.
 */
const handledBy = new WeakMap<FastifyInstance, (updateId: number) => Promise<void>>();

export function waitForHandling(app: FastifyInstance, settled: (updateId: number) => Promise<void>) {
  handledBy.set(app, settled);
}

interface InlineButton {
  text: string;
  callback_data?: string;
}

/** Inline buttons of a shown message (none when removed). */
export function inlineButtons(message: ShownMessage | undefined): InlineButton[] {
  const rows = (message?.replyMarkup?.inline_keyboard as InlineButton[][] | undefined) ?? [];
  return rows.flat();
}

/**
 * A person in a private chat with the bot, as Telegram would report them: every action becomes
 * real update JSON posted to the webhook.
 */
export class TelegramUser {
  readonly chatId: number;

  constructor(
    readonly app: FastifyInstance,
    readonly double: TelegramDouble,
    readonly secret: string,
    readonly user: { id: number; first_name: string; language_code?: string },
  ) {
    this.chatId = user.id;
  }

  private chat() {
    return { id: this.chatId, type: "private", first_name: this.user.first_name };
  }

  /**
   * Posts the update as Telegram does: a method call carried by the webhook's answer (the button
   * press's answerCallbackQuery) is then made on the double, as Telegram makes it; and, for a
   * server registered with `waitForHandling`, returns once the update is handled.
   */
  async post(update: Payload, secret: string | null = this.secret) {
    const res = await this.app.inject({
      method: "POST",
      url: "/telegram/webhook",
      headers: secret === null ? {} : { "x-telegram-bot-api-secret-token": secret },
      payload: update,
    });
    if (res.statusCode === 200 && res.headers["content-type"]?.toString().startsWith("application/json")) {
      const { method, ...payload } = res.json() as Payload;
      if (typeof method === "string") await this.double.replyCall(method, payload);
    }
    if (res.statusCode === 200 && typeof update.update_id === "number") {
      await handledBy.get(this.app)?.(update.update_id);
    }
    return res;
  }

  messageUpdate(fields: Payload, updateId = nextUpdateId()): Payload {
    return {
      update_id: updateId,
      message: {
        message_id: userMessageCounter++,
        date: Math.floor(Date.now() / 1000),
        chat: this.chat(),
        from: { is_bot: false, ...this.user },
        ...fields,
      },
    };
  }

  textUpdate(text: string, updateId = nextUpdateId()): Payload {
    const command = /^\/\w+/.exec(text);
    return this.messageUpdate(
      { text, ...(command ? { entities: [{ type: "bot_command", offset: 0, length: command[0].length }] } : {}) },
      updateId,
    );
  }

  async send(text: string) {
    const res = await this.post(this.textUpdate(text));
    if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}: ${res.body}`);
    return res;
  }

  /** `ownerId` null: a contact card without user_id (forwarded from the address book). */
  async shareContact(phone: string, ownerId: number | null = this.user.id) {
    return this.post(
      this.messageUpdate({
        contact: {
          phone_number: phone,
          first_name: this.user.first_name,
          ...(ownerId !== null ? { user_id: ownerId } : {}),
        },
      }),
    );
  }

  async shareLocation(latitude: number, longitude: number) {
    return this.post(this.messageUpdate({ location: { latitude, longitude } }));
  }

  callbackUpdate(data: string, messageId: number, updateId = nextUpdateId()): Payload {
    return {
      update_id: updateId,
      callback_query: {
        id: `cq${queryCounter++}`,
        from: { is_bot: false, ...this.user },
        chat_instance: `ci${this.chatId}`,
        data,
        message: {
          message_id: messageId,
          date: Math.floor(Date.now() / 1000),
          chat: this.chat(),
          from: { id: 900_000_001, is_bot: true, first_name: "Mahalla Connect" },
          text: this.double.message(this.chatId, messageId)?.text ?? "",
        },
      },
    };
  }

  /** The newest message in the chat that still has a button matching `label`. */
  findButton(label: string | RegExp): { message: ShownMessage; button: InlineButton } {
    const matches = (text: string) => (typeof label === "string" ? text === label : label.test(text));
    for (const message of this.double.shown(this.chatId).reverse()) {
      const button = inlineButtons(message).find((b) => matches(b.text));
      if (button) return { message, button };
    }
    throw new Error(`no button "${String(label)}" in chat ${this.chatId}; last screen:\n${this.screen()}`);
  }

  async press(label: string | RegExp) {
    const { message, button } = this.findButton(label);
    const res = await this.post(this.callbackUpdate(button.callback_data ?? "", message.messageId));
    if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}`);
    return res;
  }

  /** Text of the newest message in the chat. */
  screen(): string {
    return this.double.last(this.chatId)?.text ?? "";
  }

  /** Captions of the buttons on the newest message. */
  buttons(): string[] {
    return inlineButtons(this.double.last(this.chatId)).map((b) => b.text);
  }
}
