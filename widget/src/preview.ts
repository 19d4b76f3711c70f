/**
 * The dashboard's live preview: the launcher and the open panel, drawn inside a host element
 * with a given config and a few sample messages; no socket, no fetch. Drawn again, whole, on
 * every update, so what the organisation changes shows at once.
 */

import { readConfig, type WidgetConfig } from "./config.js";
import { thumbs } from "./cards.js";
import { Log } from "./log.js";
import { languageFor } from "./language.js";
import { Strings } from "./strings.js";
import { View } from "./view.js";

export interface Preview {
  /** Draw again with this config (the same shape as GET /widget/v1/config/{widgetId}). */
  update(config: unknown): void;
  /** Remove it from the host element. */
  destroy(): void;
}

export function preview(host: HTMLElement, config: unknown): Preview {
  if (!(host instanceof HTMLElement)) throw new TypeError("Parlour.preview needs an element to draw in");
  let view: View | null = null;
  const draw = (raw: unknown): void => {
    view?.host.remove();
    const settings: WidgetConfig = readConfig(raw, window.location.origin);
    const strings = new Strings(languageFor(settings.language));
    view = new View({ strings, config: settings, previewIn: host });
    const log = new Log(view.log, strings);
    log.greet(settings.greeting);
    const now = new Date();
    const at = (minutesAgo: number): string => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
    log.add({ author: "user", text: strings.t("preview_question"), created_at: at(2) });
    const answer = log.add({ author: "assistant", text: strings.t("preview_answer"), created_at: at(1) });
    answer.append(thumbs(strings, "preview", () => false));
    view.personButton.hidden = !settings.features.person;
    view.panel.hidden = false;
    view.launcher.setAttribute("aria-expanded", "true");
  };
  draw(config);
  return {
    update: draw,
    destroy: () => {
      view?.host.remove();
      view = null;
    },
  };
}
