import {
  PermanentSendError,
  type SmsAccepted,
  type SmsSender,
  TransientSendError,
} from "../core/notifications/senders.js";

export interface AfricasTalkingOptions {
  username: string;
  apiKey: string;
  /** Alphanumeric sender id or short code (`from`); the account default when unset. */
  senderId?: string | undefined;
  /** API root, e.g. a local test double; defaults to the live or (username `sandbox`) sandbox API. */
  apiRoot?: string | undefined;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export const defaultAtApiRoot = (username: string) =>
  username.toLowerCase() === "sandbox" ? "https://api.sandbox.africastalking.com" : "https://api.africastalking.com";

/** Per-recipient status codes that retrying cannot fix. */
const PERMANENT_STATUS_CODES = new Set([
  403, // InvalidPhoneNumber
  404, // UnsupportedNumberType
  406, // UserInBlacklist
  409, // DoNotDisturbRejection
  502, // RejectedByGateway
]);
/** Processed, Sent, Queued: the provider has the message. */
const ACCEPTED_STATUS_CODES = new Set([100, 101, 102]);

interface AtRecipient {
  statusCode?: number | string;
  status?: string;
  messageId?: string;
  number?: string;
  cost?: string;
}

/**
 * Africa's Talking bulk SMS over its documented HTTP API: `POST {root}/version1/messaging`, form
 * fields `username`, `to`, `message`, `from`, header `apiKey`; the answer is
 * `SMSMessageData.Recipients[{statusCode, status, messageId, cost, number}]`.
 *
 * This talks HTTP itself instead of through the official `africastalking` package (0.8.x) because
 * that package cannot be pointed anywhere but Africa's Talking: its URLs are module-level state
 * (lib/common.js), switched process-wide when any client uses the `sandbox` username, so a local
 * test double or gateway is impossible without patching its internals. It also sets no request
 * timeout (a hung connection would hold a delivery slot for ever) and folds HTTP status and
 * per-recipient status codes into one rejection, which we need apart to tell a retry from a
 * permanent failure.
 */
export class AfricasTalkingSms implements SmsSender {
  readonly endpoint: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: AfricasTalkingOptions) {
    const root = (options.apiRoot ?? defaultAtApiRoot(options.username)).replace(/\/+$/, "");
    this.endpoint = `${root}/version1/messaging`;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  async send(message: { to: string; text: string; signal?: AbortSignal }): Promise<SmsAccepted> {
    const body = new URLSearchParams({ username: this.options.username, to: message.to, message: message.text });
    if (this.options.senderId) body.set("from", this.options.senderId);
    let response: Response;
    let raw: string;
    try {
      response = await this.fetch(this.endpoint, {
        method: "POST",
        headers: {
          apiKey: this.options.apiKey,
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body,
        signal: message.signal
          ? AbortSignal.any([message.signal, AbortSignal.timeout(this.timeoutMs)])
          : AbortSignal.timeout(this.timeoutMs),
      });
      raw = await response.text();
    } catch (err) {
      // A timeout after the request left is the one case where the provider may have the message
      // without us knowing its id: the retry may then send it twice (the at-least-once window).
      throw new TransientSendError("AT_NETWORK", (err as Error).message);
    }
    const status = response.status;
    if (status === 401 || status === 403) throw new TransientSendError("AT_AUTH", `HTTP ${status}: ${snippet(raw)}`);
    if (status === 429 || status >= 500) throw new TransientSendError(`AT_HTTP_${status}`, snippet(raw));
    if (status !== 200 && status !== 201) throw new PermanentSendError(`AT_HTTP_${status}`, snippet(raw));

    let data: { SMSMessageData?: { Message?: string; Recipients?: AtRecipient[] } };
    try {
      data = JSON.parse(raw);
    } catch {
      throw new TransientSendError("AT_BAD_RESPONSE", snippet(raw));
    }
    const recipient = data.SMSMessageData?.Recipients?.[0];
    if (!recipient) {
      // e.g. "InvalidSenderId": the whole request was refused; a configuration fix makes retries pass.
      throw new TransientSendError("AT_NOT_SENT", snippet(data.SMSMessageData?.Message ?? raw));
    }
    const code = Number(recipient.statusCode);
    const label = recipient.status ?? String(code);
    if (ACCEPTED_STATUS_CODES.has(code) && recipient.messageId && recipient.messageId !== "None") {
      return { providerMessageId: recipient.messageId, status: "sent" };
    }
    if (PERMANENT_STATUS_CODES.has(code)) throw new PermanentSendError(`AT_${code}`, label);
    throw new TransientSendError(`AT_${Number.isFinite(code) ? code : "UNKNOWN"}`, label);
  }
}

const snippet = (text: string) => text.replace(/\s+/g, " ").trim().slice(0, 200);
