/**
 * The organisation's look and choices for its widget: `GET {server}/widget/v1/config/{widgetId}`,
 * fetched once before the launcher is drawn. The shape is fixed (the server's side is
 * src/parlour/web's widget config route); anything missing, malformed or unreachable falls back
 * to the defaults below, silently: a widget with the defaults is better than no widget.
 */

export type LauncherPosition = "right" | "left";

export interface Features {
  attachments: boolean;
  rating: boolean;
  transcript: boolean;
  person: boolean;
}

export interface WidgetConfig {
  title: string | null;
  greeting: string | null;
  brand_colour: string;
  /** Already checked: an https URL, or a path on Parlour's own server made absolute. */
  logo_url: string | null;
  launcher_position: LauncherPosition;
  hours_message: string | null;
  features: Features;
  /** "auto": the page's language. */
  language: string;
}

export const DEFAULT_BRAND = "#1f5fbf";
const CONFIG_TIMEOUT_MS = 4_000;
const COLOUR = /^#[0-9a-fA-F]{6}$/;

export function defaultConfig(): WidgetConfig {
  return {
    title: null,
    greeting: null,
    brand_colour: DEFAULT_BRAND,
    logo_url: null,
    launcher_position: "right",
    hours_message: null,
    features: { attachments: true, rating: true, transcript: true, person: true },
    language: "auto",
  };
}

function text(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  return trimmed ? trimmed.slice(0, max) : null;
}

/** A logo's address, or null: https with a host and no credentials, or a path on `server`. */
export function safeLogo(value: unknown, server: string | null): string | null {
  if (typeof value !== "string" || value.length > 2000) return null;
  try {
    if (server !== null && value.startsWith("/") && !value.startsWith("//")) {
      const base = new URL(server);
      const url = new URL(value, base);
      return url.origin === base.origin ? url.href : null;
    }
    const url = new URL(value);
    if (url.protocol !== "https:" || !url.hostname || url.username || url.password) return null;
    return url.href;
  } catch {
    return null;
  }
}

/** The parts of `raw` that have the contract's shape; the defaults for the rest. */
export function readConfig(raw: unknown, server: string | null): WidgetConfig {
  const config = defaultConfig();
  if (typeof raw !== "object" || raw === null) return config;
  const given = raw as Record<string, unknown>;
  config.title = text(given["title"], 80);
  config.greeting = text(given["greeting"], 1000);
  const colour = given["brand_colour"];
  if (typeof colour === "string" && COLOUR.test(colour)) config.brand_colour = colour.toLowerCase();
  config.logo_url = safeLogo(given["logo_url"], server);
  if (given["launcher_position"] === "left") config.launcher_position = "left";
  config.hours_message = text(given["hours_message"], 500);
  const features = given["features"];
  if (typeof features === "object" && features !== null) {
    const flags = features as Record<string, unknown>;
    for (const name of ["attachments", "rating", "transcript", "person"] as const) {
      if (typeof flags[name] === "boolean") config.features[name] = flags[name] as boolean;
    }
  }
  const language = given["language"];
  if (typeof language === "string" && /^[a-z]{2,3}$|^auto$/.test(language)) config.language = language;
  return config;
}

/** The organisation's config, or the defaults (404, network error, timeout, bad JSON). */
export async function fetchConfig(server: string, widgetId: string): Promise<WidgetConfig> {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = setTimeout(() => controller?.abort(), CONFIG_TIMEOUT_MS);
  try {
    const base = server.replace(/\/+$/, "");
    const answer = await fetch(`${base}/widget/v1/config/${encodeURIComponent(widgetId)}`, {
      credentials: "omit",
      mode: "cors",
      ...(controller ? { signal: controller.signal } : {}),
    });
    if (!answer.ok) return defaultConfig();
    return readConfig(await answer.json(), server);
  } catch {
    return defaultConfig();
  } finally {
    clearTimeout(timer);
  }
}

// ---- Colour: the text on the brand colour is whichever of white and ink reads better (WCAG).

function luminance(hex: string): number {
  const channel = (i: number): number => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const WHITE = "#ffffff";
const INK = "#1c2433";

/** The CSS custom properties for a brand colour: the colour, the text on it, and a colour for
 * links and outlines on the white panel (the brand where it reads on white, else ink). */
export function brandProperties(brand: string): Record<string, string> {
  const on = contrast(brand, WHITE) >= contrast(brand, INK) ? WHITE : INK;
  const ink = contrast(brand, WHITE) >= 4.5 ? brand : INK;
  return { "--parlour-brand": brand, "--parlour-on-brand": on, "--parlour-brand-ink": ink };
}
