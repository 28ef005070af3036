import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ApiContext } from "./context.js";
import { errorResponses, Names, NullableString, NullableTimestamp, wire } from "./schemas.js";

const Contacts = Type.Object({
  hotline: Type.Union([Type.String(), Type.Null()], {
    description: "The national social protection hotline (a phone line); not shown while null",
  }),
  ussdCode: Type.Union([Type.String(), Type.Null()], {
    description: "What citizens dial on any phone, e.g. *1146#; not shown while null",
  }),
  updatedAt: NullableTimestamp,
});

const ContactsChange = Type.Object(
  {
    hotline: Type.Optional(
      Type.Union([Type.String({ minLength: 3, maxLength: 32, examples: ["1148", "+998 71 200 00 00"] }), Type.Null()], {
        description: "A 3–5 digit short number or an Uzbek phone number; null clears it",
      }),
    ),
    ussdCode: Type.Optional(
      Type.Union([Type.String({ minLength: 4, maxLength: 20, examples: ["*1146#"] }), Type.Null()], {
        description: "A USSD code such as *1146#; null clears it",
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const InsonCentre = Type.Object({
  districtCode: Type.String(),
  names: Names,
  phone: NullableString,
  address: Type.Union([Names, Type.Null()]),
});

const Address = Type.Object(
  {
    uz: Type.String({ minLength: 1, maxLength: 300 }),
    "uz-Cyrl": Type.String({ minLength: 1, maxLength: 300 }),
    ru: Type.String({ minLength: 1, maxLength: 300 }),
  },
  { additionalProperties: false, description: "The address in Uzbek (Latin), Uzbek (Cyrillic) and Russian" },
);

const BenefitType = Type.Object({
  code: Type.String(),
  sortOrder: Type.Integer(),
  active: Type.Boolean(),
  availableFrom: Type.Union([Type.String({ format: "date" }), Type.Null()], {
    description: "First day the type is paid through the social card (and offered to applicants)",
  }),
  names: Names,
});

const Day = Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "YYYY-MM-DD" });

/** Contact data shown to citizens (hotline, USSD code, "Inson" centres) and benefit-type start dates. */
export const contactRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { contacts } = ctx;

  app.get(
    "/contacts",
    {
      schema: {
        tags: ["reference"],
        summary: "The hotline and USSD code shown to citizens",
        response: { 200: Contacts, ...errorResponses() },
      },
    },
    async () => wire(await contacts.contacts()),
  );

  app.put(
    "/contacts",
    {
      schema: {
        tags: ["reference"],
        summary: "Set the hotline and/or the USSD code shown to citizens",
        description:
          "Fields left out are kept; null clears one (the help screens then say where to go instead). A hotline equal to the USSD code's number is refused (400 HOTLINE_IS_USSD_CODE): the code is not a phone line. Audited.",
        body: ContactsChange,
        response: { 200: Contacts, ...errorResponses() },
      },
    },
    async (request) => wire(await contacts.setContacts(request.body, request.apiActor)),
  );

  app.get(
    "/districts/:code/inson-centre",
    {
      schema: {
        tags: ["reference"],
        summary: 'A district\'s "Inson" social service centre contacts',
        params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 10, description: "SOATO code" }) }),
        response: { 200: InsonCentre, ...errorResponses(404) },
      },
    },
    async (request) => contacts.insonCentre(request.params.code),
  );

  app.put(
    "/districts/:code/inson-centre",
    {
      schema: {
        tags: ["reference"],
        summary: 'Set a district\'s "Inson" centre phone and address',
        description:
          "Both fields are required; null clears one. Until a phone is set, citizens of the district are told to go to the centre (by name) or their mahalla office. Audited.",
        params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 10, description: "SOATO code" }) }),
        body: Type.Object(
          {
            phone: Type.Union([
              Type.String({ minLength: 9, maxLength: 32, examples: ["+998 71 123 45 67"] }),
              Type.Null(),
            ]),
            address: Type.Union([Address, Type.Null()]),
          },
          { additionalProperties: false },
        ),
        response: { 200: InsonCentre, ...errorResponses(404) },
      },
    },
    async (request) => contacts.setInsonCentre(request.params.code, request.body, request.apiActor),
  );

  app.get(
    "/benefit-types",
    {
      schema: {
        tags: ["reference"],
        summary: "The benefit catalogue with each type's start date on the social card",
        response: { 200: Type.Array(BenefitType), ...errorResponses() },
      },
    },
    async () => contacts.benefitTypes(),
  );

  app.put(
    "/benefit-types/:code",
    {
      schema: {
        tags: ["reference"],
        summary: "Set a benefit type's start date on the social card, or take it off the list",
        description:
          "availableFrom: the first day it is offered to applicants (null: no start date); active: false takes it off. Fields left out are kept; the seed never overwrites them. Audited.",
        params: Type.Object({ code: Type.String({ minLength: 1, maxLength: 60 }) }),
        body: Type.Object(
          {
            availableFrom: Type.Optional(Type.Union([Day, Type.Null()])),
            active: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: BenefitType, ...errorResponses(404) },
      },
    },
    async (request) => contacts.setBenefitType(request.params.code, request.body, request.apiActor),
  );
};
