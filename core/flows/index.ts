import type { FlowData } from "../domain/vocabulary.js";
import type { Flow } from "../engine/flow.js";
import { appealFlow } from "./appeal.js";
import { applyFlow } from "./apply.js";
import { helpFlow } from "./help.js";
import { languageFlow } from "./language.js";
import { menuFlow } from "./menu.js";
import { myVisitsFlow } from "./my-visits.js";
import { paymentsFlow } from "./payments.js";
import { ratingFlow } from "./rating.js";
import { statusFlow } from "./status.js";
import { visitFlow } from "./visit.js";

export { MAIN_MENU } from "./menu.js";
/** First contact: the language, and on Telegram the phone number, before any other flow. */
export { onboardingFlow } from "./onboarding.js";
/** What a USSD call opens on when a rating question waits (before the main menu). */
export { ratingOpening } from "./rating.js";

/** Every citizen flow, one per capability. */
export const citizenFlows: Flow[] = [
  menuFlow,
  applyFlow,
  statusFlow,
  paymentsFlow,
  visitFlow,
  myVisitsFlow,
  appealFlow,
  helpFlow,
  languageFlow,
  ratingFlow,
] as unknown as Flow<FlowData>[];
