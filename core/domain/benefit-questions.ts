/**
 * The few questions each benefit asks before submission. Kept short: a USSD session lasts about
 * two minutes. The back office verifies everything against registers; these answers only route
 * and prioritise the case.
 */
export type Question =
  | { id: string; kind: "integer"; min: number; max: number }
  | { id: string; kind: "money" } // whole so'm, stored as tiyin
  | { id: string; kind: "choice"; options: readonly string[] }
  | { id: string; kind: "future_date"; maxDays: number }
  | { id: string; kind: "text"; min: number; max: number };

const householdSize: Question = { id: "household_size", kind: "integer", min: 1, max: 30 };
const childrenUnder18: Question = { id: "children_under_18", kind: "integer", min: 0, max: 20 };
const monthlyIncome: Question = { id: "monthly_income", kind: "money" };
const disabilityGroup: Question = { id: "disability_group", kind: "choice", options: ["1", "2", "3"] };
const childrenWithDisability: Question = { id: "children_with_disability", kind: "integer", min: 1, max: 10 };

export const BENEFIT_QUESTIONS: Record<string, readonly Question[]> = {
  CHILD_ALLOWANCE: [householdSize, childrenUnder18, monthlyIncome],
  LOW_INCOME_ASSISTANCE: [householdSize, monthlyIncome],
  AGE_PENSION: [{ id: "work_years", kind: "integer", min: 0, max: 70 }],
  DISABILITY_PENSION: [disabilityGroup],
  LONELY_ELDERLY_ASSISTANCE: [{ id: "lives_alone", kind: "choice", options: ["yes", "no"] }, disabilityGroup],
  CHILD_DISABILITY_ALLOWANCE: [childrenWithDisability],
  CARER_MOTHER_ALLOWANCE: [childrenWithDisability],
  REHABILITATION_VOUCHER: [disabilityGroup, { id: "device_needed", kind: "text", min: 3, max: 80 }],
  SURVIVOR_PENSION: [{ id: "dependants", kind: "integer", min: 1, max: 15 }],
  MATERNITY_ALLOWANCE: [{ id: "expected_delivery", kind: "future_date", maxDays: 300 }],
  ONE_TIME_ASSISTANCE: [
    { id: "fund", kind: "choice", options: ["saxovat", "ayollar", "yoshlar"] },
    householdSize,
    monthlyIncome,
  ],
};

export const questionsFor = (benefitCode: string): readonly Question[] => BENEFIT_QUESTIONS[benefitCode] ?? [];

/** Every question id used by any benefit (the locale test checks each has its texts). */
export const ALL_QUESTIONS: readonly Question[] = [
  ...new Map(
    Object.values(BENEFIT_QUESTIONS)
      .flat()
      .map((q) => [q.id, q]),
  ).values(),
];
