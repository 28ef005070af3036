import type { PrismaClient } from "../../db/database.js";
import { NotificationRenderer } from "../../notifications/render.js";
import { BackOfficeApplications } from "./applications.js";
import { BackOfficeNotifications } from "./notifications.js";
import { BackOfficeReference } from "./reference.js";
import { BackOfficeVisits } from "./visits.js";

export type { ApplicationDetail, ApplicationItem } from "./applications.js";
export type { NotificationItem } from "./notifications.js";
export type { DateRange, Page, PageRequest } from "./paging.js";
export type { VisitItem } from "./visits.js";

/**
 * The back office's read models, one per resource as app/api/ serves them, and the few writes
 * that belong to no other service (retrying a dead notification).
 */
export class BackOfficeService {
  readonly reference: BackOfficeReference;
  readonly applications: BackOfficeApplications;
  readonly visits: BackOfficeVisits;
  readonly notifications: BackOfficeNotifications;

  constructor(prisma: PrismaClient, renderer: NotificationRenderer = new NotificationRenderer()) {
    this.reference = new BackOfficeReference(prisma);
    this.applications = new BackOfficeApplications(prisma);
    this.visits = new BackOfficeVisits(prisma);
    this.notifications = new BackOfficeNotifications(prisma, renderer);
  }
}
