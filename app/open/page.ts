import type { Locale } from "../../core/domain/vocabulary.js";
import { formatDate, groupDigits } from "../../core/i18n/format.js";
import type { Translator } from "../../core/i18n/index.js";
import { ALL_TIME, NATIONAL, regionUnit, scopeId } from "../../core/opendata/aggregate.js";
import type { Figures, MonthFigures, OpenDataSnapshot } from "../../core/opendata/publish.js";
import type { Cell } from "../../core/opendata/types.js";

/** Languages the page offers in its switch; uz-Cyrl is served too when asked for. */
export const PAGE_LANGUAGES: readonly Locale[] = ["uz", "ru", "uz-Cyrl"];

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

/** The headline columns of the page, each a published measure. */
const COLUMNS = [
  { key: "applications.total", label: "open.col.applications", format: "count" },
  { key: "applications.approvalShare", label: "open.col.approval_share", format: "percent" },
  { key: "applications.medianDaysToDecision", label: "open.col.median_days", format: "decimal1" },
  { key: "visits.total", label: "open.col.visits", format: "count" },
  { key: "visits.shareDoneWithin3WorkingDays", label: "open.col.within_3_days", format: "percent" },
] as const;
type Format = (typeof COLUMNS)[number]["format"] | "decimal2";

/** The service-quality columns, each a measure of /open/v1/service-quality. */
const QUALITY_COLUMNS = [
  { key: "decisions.shareWithinDeadline", label: "open.qcol.decisions_on_time", format: "percent" },
  { key: "decisions.medianWorkingDaysLate", label: "open.qcol.decisions_days_late", format: "decimal1" },
  { key: "visits.shareAcceptedWithinDeadline", label: "open.qcol.visits_on_time", format: "percent" },
  { key: "visits.medianWorkingDaysLate", label: "open.qcol.visits_days_late", format: "decimal1" },
  { key: "escalations.total", label: "open.qcol.escalations", format: "count" },
  { key: "ratings.visits.average", label: "open.qcol.visit_rating", format: "decimal2" },
  { key: "ratings.decisions.average", label: "open.qcol.decision_rating", format: "decimal2" },
  { key: "followUps.opened", label: "open.qcol.follow_ups_opened", format: "count" },
  { key: "followUps.closed", label: "open.qcol.follow_ups_closed", format: "count" },
] as const;

/** Numbers as the page prints them; the browser test reads them back with the same rules. */
export function formatNumber(value: number, format: Format): string {
  switch (format) {
    case "count":
      return groupDigits(value).replace(/ /g, "\u00a0");
    case "percent":
      return `${Math.round(value * 100)}%`;
    case "decimal1":
      return value.toFixed(1).replace(".", ",");
    case "decimal2":
      return value.toFixed(2).replace(".", ",");
  }
}

const monthLabel = (month: string) => `${month.slice(5, 7)}.${month.slice(0, 4)}`;

const STYLE = `
*,*::before,*::after{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff}
.wrap{max-width:64rem;margin:0 auto;padding:0 1rem 2rem}
header{border-bottom:1px solid #c8c8c8;margin-bottom:1rem}
h1{font-size:1.5rem;line-height:1.25;margin:.75rem 0 .5rem}
h2{font-size:1.25rem;margin:2rem 0 .5rem}
h3{font-size:1.1rem;margin:1.5rem 0 .25rem}
a{color:#0a4ea3}
p{margin:.5rem 0;overflow-wrap:anywhere}
.langs ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:.75rem 0 0;padding:0}
.langs a[aria-current]{font-weight:700;color:#1b1b1b;text-decoration:none}
.muted{color:#4a4a4a;font-size:.9rem}
table{border-collapse:collapse;width:100%;margin:.25rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{padding:.35rem .5rem;border-bottom:1px solid #d6d6d6;text-align:right;vertical-align:top}
thead th{font-size:.85rem;vertical-align:bottom}
th[scope=row],thead th:first-child{text-align:left}
td{white-space:nowrap}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}
figure{margin:.5rem 0}
figure svg{display:block;width:100%;max-width:32rem;height:6rem}
figure svg.quality{height:3.5rem}
.quality-charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:0 1.5rem}
.ontime{fill:#1f6e43}.track{fill:#e6e6e6}
figcaption{font-size:.85rem;color:#4a4a4a}
.bar{fill:#1f5fa8}.gap{fill:#8a8a8a}.axis{stroke:#6b6b6b;stroke-width:1}
code{font-size:.9em;overflow-wrap:anywhere}
@media (max-width:40rem){
 table.data thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%)}
 table.data,table.data tbody,table.data tr,table.data th,table.data td{display:block;width:auto}
 table.data caption{display:block;width:auto}
 table.data tr{border:1px solid #d6d6d6;border-radius:.4rem;margin:0 0 .75rem;padding:.25rem .6rem}
 table.data th[scope=row]{border:0;font-size:1.05rem;padding:.25rem 0}
 table.data td{display:flex;justify-content:space-between;gap:1rem;border:0;border-top:1px solid #ececec;padding:.3rem 0;white-space:normal}
 table.data td::before{content:attr(data-label);text-align:left;font-weight:600}
}`;

export interface PageInput {
  snapshot: OpenDataSnapshot;
  locale: Locale;
  translator: Translator;
  /** Path of the page itself, for the language links. */
  path: string;
}

/** The public /open page: plain HTML and CSS, no script, one table and one chart per region. */
export function renderOpenPage({ snapshot, locale, translator, path }: PageInput): string {
  const t = (key: string, params?: Record<string, string | number>) => escapeHtml(translator.t(locale, key, params));
  const hiddenMark = `<span aria-hidden="true">—</span><span class="vh">${t("open.suppressed")}</span>`;
  const cellHtml = (cell: Cell | undefined, format: Format) =>
    cell && cell.value !== null ? formatNumber(cell.value, format) : hiddenMark;
  const td = (measure: string, label: string, content: string) =>
    `<td data-measure="${measure}" data-label="${label}">${content}</td>`;
  const figureCells = (figures: Figures) =>
    COLUMNS.map((c) => td(c.key, t(c.label), cellHtml(figures[c.key], c.format))).join("");
  const head = (first: string, extra = "") =>
    `<thead><tr><th scope="col">${first}</th>${COLUMNS.map((c) => `<th scope="col">${t(c.label)}</th>`).join("")}${extra}</tr></thead>`;

  const languages = PAGE_LANGUAGES.map((l) => {
    const current = l === locale ? ' aria-current="page"' : "";
    return `<li><a href="${escapeHtml(path)}?lang=${l}" lang="${l}" hreflang="${l}"${current}>${escapeHtml(translator.t(l, `language.name.${l}`))}</a></li>`;
  }).join("");

  const from = snapshot.months[0];
  const to = snapshot.months[snapshot.months.length - 1];
  const period =
    from && to
      ? t("open.updated", { date: formatDate(snapshot.generatedAt), from: monthLabel(from), to: monthLabel(to) })
      : t("open.no_data");

  const summary = `<table class="data" id="summary"><caption>${t("open.summary_caption")}</caption>${head(t("open.col.region"))}<tbody>
${snapshot.regions.map((r) => `<tr data-region="${r.code}"><th scope="row"><a href="#r-${r.code}">${escapeHtml(r.names[locale])}</a></th>${figureCells(r.figures)}</tr>`).join("\n")}
<tr data-region="UZ"><th scope="row">${t("open.national")}</th>${figureCells(snapshot.national.figures)}</tr>
</tbody></table>`;

  const indexLabel = t("open.col.demand_index");
  const regionSections = snapshot.regions
    .map((r) => {
      const rows = r.districts
        .map((d) => {
          const index = d.demand["requests.total"];
          const indexHtml = index?.index != null ? formatNumber(index.index, "decimal2") : hiddenMark;
          return `<tr data-district="${d.code}"><th scope="row">${escapeHtml(d.names[locale])}</th>${figureCells(d.figures)}${td("demandIndex", indexLabel, indexHtml)}</tr>`;
        })
        .join("\n");
      const name = escapeHtml(r.names[locale]);
      return `<section aria-labelledby="r-${r.code}" data-region="${r.code}">
<h3 id="r-${r.code}">${name}</h3>
${chart(r.months, `chart-${r.code}`, translator.t(locale, "open.chart_label", { region: r.names[locale] }), translator.t(locale, "open.suppressed"))}
<table class="data"><caption>${t("open.districts_caption", { region: r.names[locale] })}</caption>${head(t("open.col.district"), `<th scope="col">${indexLabel}</th>`)}<tbody>
${rows}
</tbody></table>
</section>`;
    })
    .join("\n");

  const qualityOf = (unit: string) => snapshot.quality.get(scopeId(unit, ALL_TIME)) ?? {};
  const qualityCells = (figures: Figures) =>
    QUALITY_COLUMNS.map((c) => td(c.key, t(c.label), cellHtml(figures[c.key], c.format))).join("");
  const qualityTable = `<table class="data" id="quality" aria-labelledby="quality-heading"><thead><tr><th scope="col">${t("open.col.region")}</th>${QUALITY_COLUMNS.map((c) => `<th scope="col">${t(c.label)}</th>`).join("")}</tr></thead><tbody>
${snapshot.regions.map((r) => `<tr data-quality-region="${r.code}"><th scope="row">${escapeHtml(r.names[locale])}</th>${qualityCells(qualityOf(regionUnit(r.code)))}</tr>`).join("\n")}
<tr data-quality-region="UZ"><th scope="row">${t("open.national")}</th>${qualityCells(qualityOf(NATIONAL))}</tr>
</tbody></table>`;
  const qualityCharts = `<div class="quality-charts">
${snapshot.regions
  .map((r) =>
    qualityChart(
      qualityOf(regionUnit(r.code)),
      r.code,
      translator.t(locale, "open.quality_chart_label", { region: r.names[locale] }),
      QUALITY_COLUMNS.filter((c) => c.format === "percent").map((c) => ({
        key: c.key,
        label: translator.t(locale, c.label),
      })),
      translator.t(locale, "open.suppressed"),
    ),
  )
  .join("\n")}
</div>`;

  const endpoint = (url: string, label: string) =>
    `<li><code>${url}</code> — ${label}: <a href="${url}">JSON</a>, <a href="${url}${url.includes("?") ? "&amp;" : "?"}format=csv">CSV</a></li>`;
  const firstRegion = snapshot.regions[0]?.code ?? "1726";

  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t("open.title")}</title>
<style>${STYLE}</style>
</head>
<body>
<div class="wrap">
<header>
<nav class="langs" aria-label="${t("open.language_nav")}"><ul>${languages}</ul></nav>
<h1>${t("open.title")}</h1>
<p>${t("open.intro")}</p>
<p class="muted" id="period">${period}</p>
</header>
<main>
<h2>${t("open.summary_heading")}</h2>
${chart(snapshot.national.months, "chart-UZ", translator.t(locale, "open.chart_label", { region: translator.t(locale, "open.national") }), translator.t(locale, "open.suppressed"))}
${summary}
<p class="muted">${t("open.legend")}</p>
<h2>${t("open.districts_heading")}</h2>
${regionSections}
<h2 id="quality-heading">${t("open.quality_heading")}</h2>
<p class="muted">${t("open.quality_caption")}</p>
${qualityTable}
${qualityCharts}
<h2 id="method">${t("open.method_heading")}</h2>
<p>${t("open.method.privacy")}</p>
<p>${t("open.method.units")}</p>
<p>${t("open.method.timing")}</p>
<p>${t("open.method.index")}</p>
<p>${t("open.method.quality")}</p>
<h2 id="data">${t("open.data_heading")}</h2>
<ul>
${endpoint("/open/v1/regions", t("open.data.regions"))}
${endpoint(`/open/v1/regions/${firstRegion}/districts`, t("open.data.districts"))}
${endpoint("/open/v1/months", t("open.data.months"))}
${endpoint("/open/v1/demand-index", t("open.data.demand"))}
${endpoint("/open/v1/service-quality", t("open.data.quality"))}
</ul>
</main>
</div>
</body>
</html>
`;
}

/**
 * A small bar chart of applications per month. It is an image with its data spelled out in its
 * title, so a screen reader gets every number; suppressed months show as a short grey mark.
 */
function chart(months: MonthFigures[], id: string, label: string, suppressedWord: string): string {
  if (months.length === 0) return "";
  const values = months.map((m) => m.figures["applications.total"]?.value ?? null);
  const max = Math.max(1, ...values.map((v) => v ?? 0));
  const width = 320;
  const height = 96;
  const slot = width / months.length;
  const barWidth = Math.max(1, slot * 0.7);
  const bars = values
    .map((v, i) => {
      const x = (i * slot + (slot - barWidth) / 2).toFixed(1);
      if (v === null) return `<rect class="gap" x="${x}" y="${height - 3}" width="${barWidth.toFixed(1)}" height="3"/>`;
      const h = Math.max(1, (v / max) * (height - 6));
      return `<rect class="bar" x="${x}" y="${(height - h).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}"/>`;
    })
    .join("");
  const spelled = months
    .map((m, i) => {
      const v = values[i];
      return `${monthLabel(m.month)}: ${v === null || v === undefined ? suppressedWord : groupDigits(v)}`;
    })
    .join("; ");
  const first = months[0] as MonthFigures;
  const last = months[months.length - 1] as MonthFigures;
  return `<figure>
<svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-labelledby="${id}-t" focusable="false"><title id="${id}-t">${escapeHtml(`${label}. ${spelled}`)}</title><line class="axis" x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}"/>${bars}</svg>
<figcaption aria-hidden="true">${escapeHtml(label)} (${monthLabel(first.month)} – ${monthLabel(last.month)})</figcaption>
</figure>`;
}

/**
 * A region's two on-time shares (decisions, accepted visit requests) as horizontal bars on a
 * 0–100% track. An image whose title spells out both figures, so a screen reader gets the numbers;
 * the table above holds them too. A suppressed share shows as an empty track.
 */
function qualityChart(
  figures: Figures,
  code: string,
  label: string,
  bars: readonly { key: string; label: string }[],
  suppressedWord: string,
): string {
  const width = 320;
  const barHeight = 14;
  const gap = 10;
  const height = bars.length * (barHeight + gap);
  const id = `qchart-${code}`;
  const rows = bars
    .map((b, i) => {
      const value = figures[b.key]?.value ?? null;
      const y = i * (barHeight + gap) + gap / 2;
      const track = `<rect class="track" x="0" y="${y}" width="${width}" height="${barHeight}"/>`;
      return value === null
        ? track
        : `${track}<rect class="ontime" x="0" y="${y}" width="${(value * width).toFixed(1)}" height="${barHeight}"/>`;
    })
    .join("");
  const spelled = bars
    .map((b) => {
      const value = figures[b.key]?.value ?? null;
      return `${b.label}: ${value === null ? suppressedWord : formatNumber(value, "percent")}`;
    })
    .join("; ");
  return `<figure data-quality-chart="${code}">
<svg class="quality" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-labelledby="${id}-t" focusable="false"><title id="${id}-t">${escapeHtml(`${label}. ${spelled}`)}</title>${rows}</svg>
<figcaption aria-hidden="true">${escapeHtml(label)}</figcaption>
</figure>`;
}
