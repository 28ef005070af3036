import { parseReference } from "../../core/domain/reference.js";
import type { Slot } from "../../core/domain/slots.js";

/**
 * Buttons on staff messages. They name the visit itself (not a screen turn): every press is
 * authorised and checked against the visit's current status on the server, so an old card's
 * button is refused by the rules rather than by its age. Always "s:…", well under 64 bytes.
 */
export type StaffCommand =
  | { kind: "menu"; to: "menu" | "today" | "week" | "citizen" }
  /** Send the card as a new message (from a list). */
  | { kind: "open"; reference: string }
  /** Show the card again in the same message (back from a picker). */
  | { kind: "card"; reference: string }
  | { kind: "accept"; reference: string }
  | { kind: "propose"; reference: string }
  | { kind: "reschedule"; reference: string; slot: Slot }
  | { kind: "done"; reference: string }
  | { kind: "not_home"; reference: string }
  | { kind: "reassign"; reference: string }
  | { kind: "assign"; reference: string; staffId: number }
  /** From an escalation message (the admin): take the request, or pick another worker for it. */
  | { kind: "take"; reference: string }
  | { kind: "escalated"; reference: string }
  | { kind: "escalated_assign"; reference: string; staffId: number };

export const STAFF_PREFIX = "s:";

const VERBS = {
  open: "v",
  card: "c",
  accept: "a",
  propose: "p",
  done: "d",
  not_home: "h",
  reassign: "g",
  take: "t",
  escalated: "e",
} as const;

export function encodeStaff(command: StaffCommand): string {
  switch (command.kind) {
    case "menu":
      return `s:m:${command.to}`;
    case "reschedule": {
      const { date, part } = command.slot;
      return `s:r:${command.reference}:${date.replaceAll("-", "")}${part === "morning" ? "m" : "a"}`;
    }
    case "assign":
      return `s:w:${command.reference}:${command.staffId}`;
    case "escalated_assign":
      return `s:z:${command.reference}:${command.staffId}`;
    default:
      return `s:${VERBS[command.kind]}:${command.reference}`;
  }
}

export function decodeStaff(data: string): StaffCommand | null {
  const parts = data.split(":");
  if (parts[0] !== "s" || parts.length < 3) return null;
  const verb = parts[1];
  if (verb === "m") {
    const to = parts[2];
    return to === "menu" || to === "today" || to === "week" || to === "citizen" ? { kind: "menu", to } : null;
  }
  const reference = parseReference(parts[2] ?? "");
  if (!reference?.startsWith("V-")) return null;
  if (verb === "r") {
    const m = /^(\d{4})(\d{2})(\d{2})([ma])$/.exec(parts[3] ?? "");
    if (!m) return null;
    const date = `${m[1]}-${m[2]}-${m[3]}`;
    if (Number.isNaN(Date.parse(date))) return null;
    return { kind: "reschedule", reference, slot: { date, part: m[4] === "m" ? "morning" : "afternoon" } };
  }
  if (verb === "w" || verb === "z") {
    const id = /^\d{1,9}$/.test(parts[3] ?? "") ? Number(parts[3]) : null;
    if (!id) return null;
    return verb === "w"
      ? { kind: "assign", reference, staffId: id }
      : { kind: "escalated_assign", reference, staffId: id };
  }
  const kind = (Object.keys(VERBS) as (keyof typeof VERBS)[]).find((k) => VERBS[k] === verb);
  return kind && parts.length === 3 ? { kind, reference } : null;
}
