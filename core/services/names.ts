import type { Names } from "../domain/vocabulary.js";

/** Reference data keeps a name per language in three columns; flows and renderers want one object. */
export const namesOf = (row: { nameUz: string; nameUzCyrl: string; nameRu: string }): Names => ({
  uz: row.nameUz,
  "uz-Cyrl": row.nameUzCyrl,
  ru: row.nameRu,
});

/** The short forms (≤ 24 characters) used as menu options on a USSD screen. */
export const shortNamesOf = (row: { shortUz: string; shortUzCyrl: string; shortRu: string }): Names => ({
  uz: row.shortUz,
  "uz-Cyrl": row.shortUzCyrl,
  ru: row.shortRu,
});
