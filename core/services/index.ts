import type { SqlDatabase } from "../db/adapters.js";
import { type PrismaClient, prismaSql } from "../db/database.js";
import { AppealService } from "./appeals.js";
import { ApplicationService } from "./applications.js";
import { CitizenService } from "./citizens.js";
import { ContactService } from "./contacts.js";
import { DraftService } from "./drafts.js";
import { FeedbackService } from "./feedback.js";
import { PaymentService } from "./payments.js";
import { ReferenceService } from "./reference.js";
import { VisitService } from "./visits.js";

/** The domain services flows and front ends use; each one owns its tables. */
export interface Services {
  citizens: CitizenService;
  reference: ReferenceService;
  applications: ApplicationService;
  drafts: DraftService;
  payments: PaymentService;
  visits: VisitService;
  appeals: AppealService;
  /** The hotline, the USSD code and the "Inson" centres, as the agency set them (nothing invented). */
  contacts: ContactService;
  /** The citizen's verdict on a visit or a decision, and the follow-ups of poor ones. */
  feedback: FeedbackService;
}

export interface ServiceOptions {
  /** Plain SQL on the same database, for the statements payment day runs most (default: through Prisma). */
  sql?: SqlDatabase;
}

export function createServices(prisma: PrismaClient, options: ServiceOptions = {}): Services {
  const sql = options.sql ?? prismaSql(prisma);
  return {
    citizens: new CitizenService(prisma, sql),
    reference: new ReferenceService(prisma),
    applications: new ApplicationService(prisma, sql),
    drafts: new DraftService(sql),
    payments: new PaymentService(sql),
    visits: new VisitService(prisma, sql),
    appeals: new AppealService(prisma),
    contacts: new ContactService(prisma),
    feedback: new FeedbackService(prisma, { sql }),
  };
}
