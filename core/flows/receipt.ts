import type { FlowData } from "../domain/vocabulary.js";
import type { Step } from "../engine/flow.js";
import { text } from "../engine/flow.js";

/**
 * The last screen of a submission: the reference to keep (`messageKey` takes it as `reference`).
 * It ends the conversation and has no Back, since going back would offer to submit again.
 */
export const receiptStep = <D extends FlowData & { reference: string | null }>(messageKey: string): Step<D> => ({
  screen: (_ctx, data) => ({ body: [text(messageKey, { reference: data.reference ?? "" })], end: true, noBack: true }),
});
