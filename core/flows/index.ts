import type { FlowData } from "../domain/vocabulary.js";
import type { Flow } from "../engine/flow.js";
import { appealFlow } from "./appeal.js";
import { applyFlow } from "./apply.js";
import { helpFlow } from "./help.js";
import { languageFlow } from "./language.js";
import { menuFlow } from "./menu.js";
import { myVisitsFlow } from "./my-visits.js";
import { paymentsFlow } from "./payments.js";
import { statusFlow } from "./status.js";
import { visitFlow } from "./visit.js";

export { MAIN_MENU } from "./menu.js";
/** First contact: the language, and on Telegram the phone number, before any other flow. */
export { onboardingFlow } from "./onboarding.js";

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
] as unknown as Flow<FlowData>[];
