import { statement } from "./statement.js";

// Feedback's plain-SQL statements. Owner: core/services/feedback.ts.

export interface UssdOfferRow {
  feedbackId: number;
  subjectKind: string;
  /** The visit's or the application's reference ('' if that row is gone). */
  reference: string;
}

/**
 * Claims the question a USSD call offers before the menu, in one statement: the citizen's newest
 * unanswered question asked after $2 and not yet offered on USSD, marked offered at $3. The update
 * checks both again on the row it locks, so of two calls at once one gets the question and the
 * other no row; the reference comes from the question's subject (a visit or a decision).
 */
export const CLAIM_USSD_OFFER = statement<UssdOfferRow, [citizenId: number, askedAfter: string, now: string]>(
  "Feedback.claimUssdOffer",
  `
  with candidate as (
    select id from "Feedback"
     where "citizenId" = $1 and score is null and "ussdOfferedAt" is null and "askedAt" > $2::timestamp
     order by "askedAt" desc
     limit 1),
  claimed as (
    update "Feedback" f set "ussdOfferedAt" = $3::timestamp, "updatedAt" = $3::timestamp
      from candidate
     where f.id = candidate.id and f."ussdOfferedAt" is null and f.score is null
    returning f.id, f."subjectKind", f."subjectId")
  select c.id as "feedbackId", c."subjectKind" as "subjectKind",
         coalesce(case c."subjectKind"
                    when 'visit' then (select v.reference from "VisitRequest" v where v.id = c."subjectId")
                    else (select a.reference from "Application" a where a.id = c."subjectId")
                  end, '') as reference
    from claimed c`,
  { feedbackId: true, subjectKind: true, reference: true },
);
