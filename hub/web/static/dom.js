// Building the page: every text goes in as a text node, so a customer's words never become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function fill(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
}

export const $ = (id) => document.getElementById(id);

// "4m 05s", "-1h 02m" (overdue), "3d 04h" (two days or more), from seconds.
export function span(seconds) {
  const sign = seconds < 0 ? "-" : "";
  let s = Math.abs(Math.round(seconds));
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (hours >= 48) return `${sign}${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
  if (hours) return `${sign}${hours}h ${pad(minutes)}m`;
  return `${sign}${minutes}m ${pad(s)}s`;
}

// The browser's time zone, and a local date in it ("2026-12-04"), `daysAgo` days back: the
// reports' windows start at the browser's midnight.
export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
export function localDay(daysAgo = 0) {
  const day = new Date();
  day.setDate(day.getDate() - daysAgo); // calendar days: right across daylight saving time
  const pad = (n) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

export function until(iso) {
  return (Date.parse(iso) - Date.now()) / 1000;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}
