// Bar charts as plain SVG, no library: one group of bars a day, one bar a series.
// The figures are also the chart's accessible name, so a screen reader reads them all.

import { h } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const HEIGHT = 120;
const BAR = 14;
const GAP = 16;

function svg(tag, attrs = {}, text = null) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== null) el.textContent = text;
  return el;
}

// `days`: ["2026-12-01", ...]; `series`: [{ name, values: [number|null per day], kind }];
// `show` formats a value for the labels; `top` fixes the scale (else the largest value).
export function bars(title, days, series, { show = String, top = null } = {}) {
  const group = series.length * BAR + GAP;
  const width = Math.max(240, days.length * group + 20);
  const scale = top ?? Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${HEIGHT + 34}`, width, height: HEIGHT + 34,
    class: "chart", role: "img", "aria-label": describe(title, days, series, show) });
  days.forEach((day, d) => {
    series.forEach((s, i) => {
      const value = s.values[d];
      if (value === null || value === undefined) return;
      const high = Math.max(1, (value / scale) * HEIGHT);
      const x = 10 + d * group + i * BAR;
      const bar = svg("rect", { x, y: HEIGHT - high + 4, width: BAR - 2, height: high, class: `s${i}` });
      bar.append(svg("title", {}, `${s.name} ${day}: ${show(value)}`));
      chart.append(bar);
    });
    chart.append(svg("text", { x: 10 + d * group, y: HEIGHT + 18 }, day.slice(5, 10)));
  });
  // No figure on any day (no first response yet): say so, not a scale of nothing.
  const none = series.every((s) => s.values.every((v) => v === null || v === undefined));
  chart.append(svg("line", { x1: 0, x2: width, y1: 4, y2: 4, class: "scale" }));
  if (!none) chart.append(svg("text", { x: width - 4, y: 16, "text-anchor": "end" }, show(scale)));
  if (!days.length) chart.append(svg("text", { x: 10, y: HEIGHT / 2 }, "no tickets in the window"));
  else if (none) chart.append(svg("text", { x: 10, y: HEIGHT / 2 }, "none yet in the window"));
  const legend = series.length > 1
    ? h("p", { class: "legend" }, series.map((s, i) => h("span", { class: `key s${i}` }, s.name)))
    : null;
  return h("figure", { class: "chart-box" }, chart, legend);
}

function describe(title, days, series, show) {
  const day = (d, i) => `${d.slice(0, 10)} ${series.map((s) =>
    `${series.length > 1 ? s.name + " " : ""}${s.values[i] === null ? "none" : show(s.values[i])}`).join(", ")}`;
  return `${title}: ${days.map(day).join("; ") || "no tickets"}`;
}
