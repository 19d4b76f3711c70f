/**
 * Every word the widget shows or says to a screen reader, from the locale files in
 * widget/locales (flat keys, en.json the reference), bundled into the script at build time.
 */

import ar from "../locales/ar.json";
import de from "../locales/de.json";
import en from "../locales/en.json";
import es from "../locales/es.json";
import fr from "../locales/fr.json";
import hi from "../locales/hi.json";

export type Key = keyof typeof en;
type Table = Readonly<Record<string, string>>;

const LOCALES: Readonly<Record<string, Table>> = { en, fr, de, es, hi, ar };
/** Languages written right to left: the widget's root gets dir="rtl" and its layout mirrors. */
const RTL = new Set(["ar"]);

export const LANGUAGES: readonly string[] = Object.keys(LOCALES);

/** The first of `candidates` (BCP 47 tags, e.g. "fr-CA") the widget speaks, by its primary subtag; else "en". */
export function pickLanguage(candidates: readonly (string | null | undefined)[]): string {
  for (const tag of candidates) {
    if (typeof tag !== "string") continue;
    const primary = tag.trim().toLowerCase().split(/[-_]/)[0] ?? "";
    if (primary in LOCALES) return primary;
  }
  return "en";
}

export class Strings {
  readonly lang: string;
  readonly dir: "ltr" | "rtl";
  private readonly table: Table;
  private readonly plurals: Intl.PluralRules;

  constructor(lang: string) {
    this.lang = lang in LOCALES ? lang : "en";
    this.dir = RTL.has(this.lang) ? "rtl" : "ltr";
    this.table = LOCALES[this.lang] ?? en;
    this.plurals = new Intl.PluralRules(this.lang);
  }

  /** The string for `key`, its `{name}`s filled from `vars`; English where the locale lacks it. */
  t(key: Key, vars: Readonly<Record<string, string | number>> = {}): string {
    const template = this.table[key] ?? en[key];
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = vars[name];
      return value === undefined ? whole : typeof value === "number" ? this.number(value) : value;
    });
  }

  /** `count` things, in the locale's plural form: `<base>_<category>` (Intl.PluralRules), else `<base>_other`. */
  plural(base: "unread", count: number): string {
    const category = this.plurals.select(count);
    const key = `${base}_${category}`;
    const template = this.table[key] ?? this.table[`${base}_other`] ?? en.unread_other;
    return template.replace("{count}", this.number(count));
  }

  number(value: number): string {
    return value.toLocaleString(this.lang);
  }

  /** A message's time, as this locale writes it ("14:05", "2:05 PM"); "" for an invalid date. */
  time(iso: string): string {
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return "";
    return when.toLocaleTimeString(this.lang, { hour: "numeric", minute: "2-digit" });
  }

  /** A date and time, for "We're back …". */
  weekdayTime(when: Date): string {
    return when.toLocaleString(this.lang, { weekday: "long", hour: "2-digit", minute: "2-digit" });
  }
}
