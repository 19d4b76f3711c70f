/**
 * The widget's stylesheet, adopted by its shadow root. The organisation's colour comes in as
 * custom properties (config.ts: brandProperties); inside the panel, layout uses logical
 * properties (inline-start/end, text-align: start) so a right-to-left language mirrors it.
 * The launcher and panel sit on the side the organisation chose (.right/.left, physical: a
 * fixed box's logical insets would follow the host page's direction, not the widget's).
 */

export const STYLE = `
:host { all: initial; }
* { box-sizing: border-box; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", sans-serif; }
.root { --parlour-brand: #1f5fbf; --parlour-on-brand: #fff; --parlour-brand-ink: #1f5fbf; }
.launcher { position: fixed; bottom: 24px; width: 60px; height: 60px;
  border-radius: 50%; border: 0; background: var(--parlour-brand); color: var(--parlour-on-brand);
  cursor: pointer; box-shadow: 0 6px 18px rgba(0,0,0,.22); z-index: 2147483000;
  display: grid; place-items: center; }
.right .launcher, .right .panel { right: 24px; }
.left .launcher, .left .panel { left: 24px; }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible, input:focus-visible {
  outline: 3px solid #ffb020; outline-offset: 2px; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #c62828; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 22px; text-align: center; border: 2px solid #fff; }
.badge[hidden] { display: none; }
.panel { position: fixed; bottom: 96px; width: min(380px, calc(100vw - 32px));
  height: min(560px, calc(100vh - 120px)); display: flex; flex-direction: column;
  background: #fff; color: #1c2433; border-radius: 14px; overflow: hidden;
  box-shadow: 0 12px 40px rgba(0,0,0,.25); z-index: 2147483001; }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 16px;
  background: var(--parlour-brand); color: var(--parlour-on-brand); }
header .logo { width: 28px; height: 28px; object-fit: contain; border-radius: 6px; background: #fff; }
header h2 { margin: 0; flex: 1; font-size: 16px; font-weight: 600; color: inherit; }
header button { background: transparent; border: 0; color: inherit; font-size: 22px; cursor: pointer; }
.log-region { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.log { flex: 1; overflow-y: auto; margin: 0; padding: 14px; list-style: none;
  background: #f5f7fb; display: flex; flex-direction: column; gap: 8px; }
.msg, .greeting { max-width: 85%; padding: 9px 12px; border-radius: 12px; white-space: pre-wrap;
  overflow-wrap: anywhere; text-align: start; }
.msg[data-time]::after { content: attr(data-time); display: block; margin-top: 2px; font-size: 11px;
  opacity: .75; text-align: end; white-space: nowrap; }
.msg.cont { margin-top: -5px; }
.msg.user { align-self: flex-end; background: var(--parlour-brand); color: var(--parlour-on-brand); }
.msg.user.cont { border-start-end-radius: 4px; }
.msg.user.pending { background: #fff; color: var(--parlour-brand-ink);
  box-shadow: inset 0 0 0 1.5px var(--parlour-brand); }
.msg.assistant, .msg.agent, .greeting { align-self: flex-start; background: #fff; border: 1px solid #dde3ee; }
.msg.assistant.cont, .msg.agent.cont { border-start-start-radius: 4px; }
.msg.system { align-self: center; background: transparent; color: #5a6478; font-size: 13px; }
.sources { margin: 6px 0 0; padding: 6px 0 0; border-top: 1px solid #e6eaf2; font-size: 12.5px;
  color: #5a6478; list-style: none; }
.sources a, .cite a { color: var(--parlour-brand-ink); }
.cite { font-size: 11px; line-height: 0; }
.hours { margin: 0; padding: 4px 16px 0; font-size: 13px; color: #36415a; background: #f5f7fb; }
.hours[hidden] { display: none; }
.status { min-height: 22px; padding: 2px 16px; font-size: 13px; color: #5a6478; background: #f5f7fb; }
.handoff { margin: 0 14px 8px; padding: 8px; border: 1px solid var(--parlour-brand-ink); border-radius: 8px;
  background: #fff; color: var(--parlour-brand-ink); cursor: pointer; }
.handoff[hidden] { display: none; }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e6eaf2; }
textarea { flex: 1; resize: none; height: 42px; padding: 10px; border: 1px solid #c8d0de;
  border-radius: 8px; }
form button { padding: 0 16px; border: 0; border-radius: 8px; background: var(--parlour-brand);
  color: var(--parlour-on-brand); cursor: pointer; }
.person { font-size: 13px; padding: 4px 10px; border: 1px solid currentColor; border-radius: 14px; }
.person[hidden] { display: none; }
.who { display: flex; align-items: center; gap: 6px; margin: 4px 0 -4px; font-size: 12.5px;
  font-weight: 600; color: #36415a; }
.avatar { width: 22px; height: 22px; border-radius: 50%; display: grid; place-items: center;
  color: #fff; font-size: 10.5px; font-weight: 700; }
.avatar.c0 { background: #1f5fbf; } .avatar.c1 { background: #2e7d4f; }
.avatar.c2 { background: #8a4fbf; } .avatar.c3 { background: #b5482a; }
.avatar.c4 { background: #0f7c8c; } .avatar.c5 { background: #7a5c00; }
.files { list-style: none; margin: 6px 0 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.files img { display: block; max-width: 160px; max-height: 160px; border-radius: 6px; }
.files a { color: inherit; word-break: break-all; }
form button.attach { padding: 0 12px; font-size: 18px; }
.seen { align-self: flex-end; font-size: 12px; color: #5a6478; margin-top: -4px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
.card { align-self: stretch; padding: 10px 12px; border: 1px solid #dde3ee; border-radius: 10px;
  background: #fff; font-size: 14px; display: flex; flex-direction: column; gap: 6px; }
.card p { margin: 0; }
.card form { padding: 0; border: 0; flex-wrap: wrap; }
.card input, .card textarea { flex: 1; padding: 6px 8px; border: 1px solid #c9d1e0; border-radius: 6px; font: inherit; }
.card .link { background: transparent; border: 0; color: var(--parlour-brand-ink); padding: 0; cursor: pointer; text-align: start; }
.stars { display: flex; gap: 4px; }
.stars button { border: 1px solid #c9d1e0; background: #fff; border-radius: 6px; padding: 4px 8px; cursor: pointer; }
.stars button[aria-pressed="true"] { background: var(--parlour-brand); color: var(--parlour-on-brand); }
.thumbs { display: flex; gap: 6px; margin-top: 6px; white-space: normal; }
.thumbs button { display: grid; place-items: center; padding: 3px 7px; border: 1px solid #c9d1e0;
  border-radius: 6px; background: #fff; color: #5a6478; cursor: pointer; }
.thumbs button[aria-pressed="true"] { background: var(--parlour-brand); border-color: var(--parlour-brand);
  color: var(--parlour-on-brand); }
.thumbs button:disabled { cursor: default; }
.thumbs button:disabled[aria-pressed="false"] { opacity: .45; }
.choices { display: flex; flex-direction: column; align-items: stretch; gap: 6px; margin-top: 8px;
  white-space: normal; }
.choices button { padding: 7px 10px; border: 1px solid var(--parlour-brand-ink); border-radius: 8px; background: #fff;
  color: var(--parlour-brand-ink); font: inherit; text-align: start; cursor: pointer; }
.choices button.none { border-color: #c9d1e0; color: #36415a; }
.choices button[aria-pressed="true"] { background: var(--parlour-brand); border-color: var(--parlour-brand);
  color: var(--parlour-on-brand); }
.choices button:disabled { cursor: default; }
.choices button:disabled[aria-pressed="false"] { opacity: .45; }
[dir="rtl"] .thumbs svg { transform: scaleX(-1); }
@media (max-width: 480px) {
  .root:not(.preview) .panel { top: 0; right: 0; bottom: 0; left: 0; width: 100vw; height: 100vh;
    height: 100dvh; border-radius: 0; }
}
.preview { position: relative; width: 100%; height: 100%; min-height: 680px; }
.preview .launcher, .preview .panel { position: absolute; }
`;
