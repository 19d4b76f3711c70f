/**
 * Which language the widget speaks: the organisation's choice (its config), else the page's
 * `<html lang>`, else the browser's languages, else English.
 */

import { pickLanguage } from "./strings.js";

export function languageFor(configured: string): string {
  const page = document.documentElement.getAttribute("lang");
  const browser = typeof navigator !== "undefined" ? [...(navigator.languages ?? []), navigator.language] : [];
  return pickLanguage([configured === "auto" ? null : configured, page, ...browser]);
}
