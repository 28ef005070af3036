import type { PrismaClient } from "../../core/db/database.js";
import type { ApplicationService } from "../../core/services/applications.js";
import type { BackOfficeService } from "../../core/services/backoffice/index.js";
import type { CalendarService } from "../../core/services/calendar.js";
import type { ContactService } from "../../core/services/contacts.js";
import type { DeadlineService } from "../../core/services/deadlines.js";
import type { FeedbackService } from "../../core/services/feedback.js";
import type { StaffService } from "../../core/services/staff.js";

/** What the back-office routes work with; one instance per server. */
export interface ApiContext {
  prisma: PrismaClient;
  backoffice: BackOfficeService;
  staff: StaffService;
  applications: ApplicationService;
  deadlines: DeadlineService;
  calendar: CalendarService;
  contacts: ContactService;
  /** The citizens' ratings and their follow-ups. */
  feedback: FeedbackService;
  clock: () => Date;
  /** Upper bound on an imported CSV file, in bytes. */
  maxCsvBytes: number;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Who acts, for the audit log: `api:<token name>`. */
    apiActor: string;
  }
}

/** Import bodies may be large; everything else keeps the server's small default. */
export const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;
