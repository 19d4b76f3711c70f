/**
 * The widget's frame: a shadow root (the host page's styles stay out; it is open, as a closed
 * one would not stop a hostile page, which can patch attachShadow, and would shut out assistive
 * and testing tools) holding the launcher with its unread badge, and the panel: header (logo,
 * title, "Talk to a person", close), the log, the hours line, the status line, the composer.
 * It opens and closes with the focus where a keyboard user expects it: into the message box on
 * open, back on the launcher on close; Escape closes.
 */

import { brandProperties, type WidgetConfig } from "./config.js";
import { chatIcon, el } from "./dom.js";
import { STYLE } from "./style.js";
import type { Strings } from "./strings.js";

export interface ViewOptions {
  strings: Strings;
  config: WidgetConfig;
  /** The title given to `Parlour.init`, which wins over the config's. */
  title?: string | undefined;
  /** Drawn inside this element (the dashboard's preview) instead of fixed on the page. */
  previewIn?: HTMLElement;
}

export class View {
  readonly host: HTMLElement;
  readonly root: HTMLDivElement;
  readonly launcher: HTMLButtonElement;
  readonly badge: HTMLSpanElement;
  readonly panel: HTMLElement;
  readonly personButton: HTMLButtonElement;
  readonly closeButton: HTMLButtonElement;
  readonly log: HTMLOListElement;
  readonly hours: HTMLParagraphElement;
  readonly status: HTMLDivElement;
  readonly handoffButton: HTMLButtonElement;
  readonly form: HTMLFormElement;
  readonly input: HTMLTextAreaElement;
  /** The file picker and its button (features.attachments), or null. */
  readonly fileInput: HTMLInputElement | null = null;
  readonly strings: Strings;
  readonly config: WidgetConfig;
  /** Called when the panel opens or closes (the controller connects, marks read). */
  onToggle: (open: boolean) => void = () => undefined;
  private unread = 0;

  constructor({ strings, config, title, previewIn }: ViewOptions) {
    this.strings = strings;
    this.config = config;
    const t = strings.t.bind(strings);
    const heading = title || config.title || t("title");

    this.host = el("div", { "data-parlour-widget": "" });
    (previewIn ?? document.body).appendChild(this.host);
    const shadow = this.host.attachShadow({ mode: "open" });
    if ("adoptedStyleSheets" in shadow && typeof CSSStyleSheet.prototype.replaceSync === "function") {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      shadow.appendChild(el("style", {}, STYLE));
    }
    // The side the organisation chose, mirrored for a right-to-left language.
    const right = (config.launcher_position === "right") !== (strings.dir === "rtl");
    this.root = el("div", { class: `root ${right ? "right" : "left"}${previewIn ? " preview" : ""}`,
      dir: strings.dir, lang: strings.lang });
    for (const [name, value] of Object.entries(brandProperties(config.brand_colour))) {
      this.root.style.setProperty(name, value);
    }

    this.launcher = el("button", { class: "launcher", type: "button", "aria-label": t("open"),
      "aria-expanded": "false", "aria-controls": "parlour-panel" });
    this.badge = el("span", { class: "badge", "aria-hidden": "true", hidden: "" });
    this.launcher.append(chatIcon(), this.badge);

    this.panel = el("section", { class: "panel", id: "parlour-panel", role: "dialog",
      "aria-label": heading, hidden: "" });
    const header = el("header");
    if (config.logo_url !== null) {
      header.append(el("img", { class: "logo", src: config.logo_url, alt: "",
        referrerpolicy: "no-referrer" }));
    }
    header.append(el("h2", {}, heading));
    this.personButton = el("button", { class: "person", type: "button", hidden: "" }, t("talk_to_person"));
    this.closeButton = el("button", { type: "button", "aria-label": t("close") }, "×");
    header.append(this.personButton, this.closeButton);

    // The live region wraps the list: a role on the <ol> itself would take its list semantics
    // away from the messages (axe: listitem).
    const region = el("div", { class: "log-region", role: "log", "aria-live": "polite",
      "aria-label": t("messages") });
    this.log = el("ol", { class: "log" });
    region.append(this.log);
    this.hours = el("p", { class: "hours" }, config.hours_message ?? "");
    this.hours.hidden = config.hours_message === null;
    this.status = el("div", { class: "status", role: "status" });
    this.handoffButton = el("button", { class: "handoff", type: "button", hidden: "" }, t("talk_to_person"));
    this.form = el("form");
    // Where the attachment button goes (features.attachments): the form says whether it may.
    this.form.dataset["attachments"] = config.features.attachments ? "on" : "off";
    const label = el("label", { for: "parlour-input", class: "visually-hidden" }, t("your_message"));
    this.input = el("textarea", { id: "parlour-input", rows: "1", maxlength: "4000",
      placeholder: t("placeholder") });
    this.form.append(label, this.input);
    if (config.features.attachments) {
      this.fileInput = el("input", { type: "file", class: "visually-hidden", tabindex: "-1",
        "aria-hidden": "true", accept: "image/png,image/jpeg,image/webp,image/gif,application/pdf" });
      const attach = el("button", { type: "button", class: "attach", "aria-label": t("attach") }, "+");
      const picker = this.fileInput;
      attach.addEventListener("click", () => picker.click());
      this.form.append(this.fileInput, attach);
    }
    this.form.append(el("button", { type: "submit" }, t("send")));
    this.panel.append(header, region, this.hours, this.status, this.handoffButton, this.form);
    this.root.append(this.launcher, this.panel);
    shadow.append(this.root);

    this.launcher.addEventListener("click", () => this.toggle());
    this.closeButton.addEventListener("click", () => this.toggle(false));
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.toggle(false);
      }
    });
  }

  get isOpen(): boolean {
    return !this.panel.hidden;
  }

  toggle(open: boolean = this.panel.hidden): void {
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      this.setUnread(0);
      this.input.focus();
    } else {
      this.launcher.focus();
    }
    this.onToggle(open);
  }

  /** One more message came while the panel was closed. */
  countUnread(): void {
    if (!this.isOpen) this.setUnread(this.unread + 1);
  }

  private setUnread(count: number): void {
    this.unread = count;
    this.badge.hidden = count === 0;
    this.badge.textContent = count > 99 ? "99+" : this.strings.number(count);
    const open = this.strings.t("open");
    this.launcher.setAttribute("aria-label", count === 0 ? open : `${open}, ${this.strings.plural("unread", count)}`);
  }

  setStatus(text: string): void {
    this.status.textContent = text;
  }

  scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
