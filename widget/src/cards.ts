/**
 * What the customer can act on inside the log: thumbs under an answer, an unsure answer's
 * choices, the "nobody there" card (an e-mail address, the transcript), the rating card. Each
 * calls back with what was chosen; a callback that returns false (no socket) leaves it as it was.
 */

import { el, thumbIcon } from "./dom.js";
import type { Strings } from "./strings.js";
import type { AvailabilityFrame, Choice, Thumbs } from "../../sdk/js/src/frames.js";

/** Thumbs up or down under each of the assistant's answers (docs/protocol.md §3.5): once per
 * answer, the first standing, so a choice made disables the pair and shows which it was. */
export function thumbs(strings: Strings, id: string, send: (value: Thumbs) => boolean): HTMLDivElement {
  const group = el("div", { class: "thumbs", role: "group", "aria-label": strings.t("helpful") });
  group.dataset["answerId"] = id;
  const pairs: [Thumbs, string][] = [["up", strings.t("thumbs_up")], ["down", strings.t("thumbs_down")]];
  for (const [value, label] of pairs) {
    const button = el("button", { type: "button", "aria-pressed": "false", "aria-label": label });
    button.dataset["thumbs"] = value;
    button.append(thumbIcon(value === "down"));
    button.addEventListener("click", () => {
      if (!send(value)) return;
      for (const other of group.querySelectorAll("button")) {
        other.setAttribute("aria-pressed", String(other === button));
        other.disabled = true;
      }
    });
    group.append(button);
  }
  return group;
}

/** The entries an unsure assistant offers ("Did you mean …?", §3.6): a button each, and "None
 * of these". A pick calls `choose`; "None of these" calls `none`. The group then shows as
 * answered, as it does once any later message follows (answerOffers). */
export function choices(
  strings: Strings,
  id: string,
  offered: readonly Choice[],
  choose: (choice: string) => boolean,
  none: () => boolean,
): HTMLDivElement {
  const group = el("div", { class: "choices", role: "group", "aria-label": strings.t("choices") });
  group.dataset["offerId"] = id;
  for (const choice of offered) {
    if (typeof choice.id !== "string" || typeof choice.title !== "string") continue;
    const button = el("button", { type: "button", "aria-pressed": "false" }, choice.title);
    button.dataset["choice"] = choice.id;
    button.addEventListener("click", () => {
      if (choose(choice.id)) answer(group, button);
    });
    group.append(button);
  }
  const noneButton = el("button", { type: "button", class: "none", "aria-pressed": "false" }, strings.t("none_of_these"));
  noneButton.addEventListener("click", () => {
    if (none()) answer(group, noneButton);
  });
  group.append(noneButton);
  return group;
}

function answer(group: HTMLElement, picked: HTMLButtonElement | null): void {
  group.dataset["answered"] = "true";
  for (const button of group.querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button === picked));
    button.disabled = true;
  }
}

/** An offer is answered once anything follows it (a pick's answer, a new question). */
export function answerOffers(log: HTMLElement): void {
  for (const group of log.querySelectorAll<HTMLElement>(".choices:not([data-answered])")) answer(group, null);
}

export interface AwayActions {
  contact: (email: string) => boolean;
  transcript: (() => boolean) | null;
}

/** Nobody there (docs/protocol.md, "Nobody available, e-mail and ratings"): when they are back,
 * and a way to be answered by e-mail. */
export function awayCard(strings: Strings, frame: AvailabilityFrame, actions: AwayActions): HTMLLIElement {
  const card = el("li", { class: "card away", role: "note" });
  let text = strings.t(frame.reason === "closed" ? "closed_now" : "nobody_now");
  if (typeof frame.reply_time === "string" && frame.reply_time) text += ` ${strings.t("reply_time", { time: frame.reply_time })}`;
  const when = typeof frame.next_open_at === "string" ? new Date(frame.next_open_at) : null;
  if (when !== null && !Number.isNaN(when.getTime())) text += ` ${strings.t("back_at", { when: strings.weekdayTime(when) })}`;
  card.append(el("p", {}, text));
  if (!frame.email_known) card.append(contactForm(strings, actions.contact));
  else if (actions.transcript !== null) card.append(transcriptButton(strings, actions.transcript));
  return card;
}

function contactForm(strings: Strings, contact: (email: string) => boolean): HTMLFormElement {
  const form = el("form", { class: "contact" });
  const label = el("label", { for: "parlour-email" }, strings.t("contact_label"));
  const input = el("input", { id: "parlour-email", type: "email", maxlength: "254", autocomplete: "email", required: "" });
  form.append(label, input, el("button", { type: "submit" }, strings.t("send")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const email = input.value.trim();
    if (email) contact(email);
  });
  return form;
}

export function transcriptButton(strings: Strings, transcript: () => boolean): HTMLButtonElement {
  const button = el("button", { type: "button", class: "link" }, strings.t("email_transcript"));
  button.addEventListener("click", () => {
    if (transcript()) button.disabled = true;
  });
  return button;
}

/** After a resolution: one to five stars and a comment. */
export function ratingCard(
  strings: Strings,
  rate: (score: 1 | 2 | 3 | 4 | 5, comment: string | undefined) => boolean,
): HTMLLIElement {
  const card = el("li", { class: "card rating" });
  card.append(el("p", {}, strings.t("rating_question")));
  const stars = el("div", { class: "stars", role: "group", "aria-label": strings.t("rating_group") });
  let score: 0 | 1 | 2 | 3 | 4 | 5 = 0;
  for (const n of [1, 2, 3, 4, 5] as const) {
    const star = el("button", { type: "button", "aria-pressed": "false", "aria-label": strings.t("rating_star", { n: String(n) }) },
      "★".repeat(n));
    star.addEventListener("click", () => {
      score = n;
      for (const other of stars.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === star));
    });
    stars.append(star);
  }
  const comment = el("textarea", { rows: "2", maxlength: "1000", "aria-label": strings.t("rating_comment"),
    placeholder: strings.t("rating_comment") });
  const submit = el("button", { type: "button" }, strings.t("send_rating"));
  submit.addEventListener("click", () => {
    if (score === 0) return;
    rate(score, comment.value.trim() || undefined);
  });
  card.append(stars, comment, submit);
  return card;
}
