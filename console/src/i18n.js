// Languages: every string the console shows comes from a catalogue (locales/*.js);
// dates, numbers and shares are formatted by Intl in the chosen language.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import en from "./locales/en.js";
import ru from "./locales/ru.js";
import uk from "./locales/uk.js";

export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "ru", name: "Русский" },
  { code: "uk", name: "Українська" },
];
const CATALOGUES = { en, ru, uk };
const STORED = "leadcrm.lang";

export function initialLanguage() {
  const stored = localStorage.getItem(STORED);
  if (stored && CATALOGUES[stored]) return stored;
  const preferred = (navigator.languages || [navigator.language || "en"]).map((tag) => tag.slice(0, 2));
  return preferred.find((code) => CATALOGUES[code]) || "en";
}

export function rememberLanguage(code) {
  localStorage.setItem(STORED, code);
  document.documentElement.lang = code;
}

export function makeI18n(lang) {
  const catalogue = CATALOGUES[lang] || en;
  const plurals = new Intl.PluralRules(lang);
  const numbers = new Intl.NumberFormat(lang);
  const fill = (text, vars) =>
    vars ? text.replace(/\{(\w+)\}/g, (whole, name) => (vars[name] === undefined ? whole : String(vars[name]))) : text;
  const t = (key, vars) => fill(catalogue[key] ?? en[key] ?? key, vars);
  // Plural forms: key.one / key.few / key.many / key.other, as Intl.PluralRules names them.
  t.n = (key, count, vars) => {
    const form = `${key}.${plurals.select(count)}`;
    const text = catalogue[form] ?? catalogue[`${key}.other`] ?? en[`${key}.other`] ?? key;
    return fill(text, { count: numbers.format(count), ...vars });
  };
  t.has = (key) => key in catalogue || key in en;
  const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  const time = new Intl.DateTimeFormat(lang, { timeStyle: "short" });
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  const percentFine = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  const decimal = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const signed = new Intl.NumberFormat(lang, {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
    signDisplay: "exceptZero",
  });
  const list = new Intl.ListFormat(lang, { style: "long", type: "conjunction" });
  const fmt = {
    lang,
    number: (n) => numbers.format(n),
    decimal: (n) => decimal.format(n),
    signed: (n) => signed.format(n),
    percent: (x) => percent.format(x),
    percentFine: (x) => percentFine.format(x),
    list: (items) => list.format(items),
    dateTime: (iso) => (iso ? dateTime.format(new Date(iso)) : "—"),
    time: (iso) => (iso ? time.format(new Date(iso)) : "—"),
    ago(iso, now = Date.now()) {
      if (!iso) return "—";
      const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
      const units = [
        ["day", 86400],
        ["hour", 3600],
        ["minute", 60],
      ];
      for (const [unit, size] of units) {
        if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
      }
      return relative.format(seconds, "second");
    },
    // 75 → "1:15", 3700 → "1:01:40": a countdown reads the same in every language.
    clock(totalSeconds) {
      const s = Math.max(0, Math.floor(totalSeconds));
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const rest = String(s % 60).padStart(2, "0");
      return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
    },
    seconds(total) {
      if (total === null || total === undefined) return t("common.none");
      if (total % 86400 === 0) return t.n("unit.days", total / 86400);
      if (total % 3600 === 0) return t.n("unit.hours", total / 3600);
      if (total % 60 === 0) return t.n("unit.minutes", total / 60);
      return t.n("unit.seconds", total);
    },
  };
  return { t, fmt, lang };
}

export const I18n = createContext(makeI18n("en"));
export const useI18n = () => useContext(I18n);
