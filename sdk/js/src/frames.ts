/**
 * Every frame of Parlour's chat protocol, version 1 (docs/protocol.md §3), as discriminated unions
 * on `type`, and the same list at run time (`CLIENT_FRAME_FIELDS`, `SERVER_FRAME_FIELDS`), which
 * the compiler keeps equal to the types and a test compares with docs/protocol.md's tables.
 */

export const PROTOCOL_VERSION = 1;

// ---- Client → server ---------------------------------------------------------------------

/** The first frame: exactly one of `token`, `visitor: true` or `visitor_token`. */
export interface AuthFrame {
  type: "auth";
  token?: string;
  visitor?: true;
  visitor_token?: string;
  last_seq?: number;
}
export interface SendMessageFrame {
  type: "message";
  client_id: string;
  text: string;
  /** Ids of files this customer uploaded to the conversation (§3.7); the text may then be "". */
  attachments?: string[];
}
export interface AckFrame {
  type: "ack";
  seq: number;
}
export interface ClientTypingFrame {
  type: "typing";
  state: boolean;
}
export interface ClientReadFrame {
  type: "read";
  seq: number;
}
export interface ReauthFrame {
  type: "reauth";
  token: string;
}
export interface HandoffRequestFrame {
  type: "handoff";
}
export interface ContactFrame {
  type: "contact";
  email: string;
}
export interface TranscriptFrame {
  type: "transcript";
}
export interface RateFrame {
  type: "rate";
  score: 1 | 2 | 3 | 4 | 5;
  comment?: string;
}
export type Thumbs = "up" | "down";
export interface FeedbackFrame {
  type: "feedback";
  id: string;
  thumbs: Thumbs;
}
/** A pick among the entries an assistant's offer named (§3.6). */
export interface ChooseFrame {
  type: "choose";
  message_id: string;
  choice: string;
}

/** Ask for a ticket to upload one file over HTTP (§3.7). */
export interface UploadRequestFrame {
  type: "upload";
}

export type ClientFrame =
  | AuthFrame
  | SendMessageFrame
  | AckFrame
  | ClientTypingFrame
  | ClientReadFrame
  | ReauthFrame
  | HandoffRequestFrame
  | ContactFrame
  | TranscriptFrame
  | RateFrame
  | FeedbackFrame
  | ChooseFrame
  | UploadRequestFrame;

// ---- Server → client ---------------------------------------------------------------------

export interface ReadyFrame {
  type: "ready";
  protocol: number;
  conversation_id: string;
  last_seq: number;
  expires_at: string;
  visitor_token?: string;
  people: boolean;
}
/** A file a message carries (§3.7). `url` downloads the original: never show it inline.
 * `thumbnail_url`, for images, is a small image Parlour drew from it, to show as `<img>`. Both
 * are signed links that last minutes; resume for fresh ones. */
export interface Attachment {
  id: string;
  name: string;
  content_type: "image/png" | "image/jpeg" | "image/webp" | "image/gif" | "application/pdf";
  size: number;
  url: string;
  thumbnail_url: string | null;
}
export interface AcceptedFrame {
  type: "accepted";
  client_id: string;
  seq: number;
  id: string;
  created_at: string;
  attachments?: Attachment[];
}
export type Author = "user" | "assistant" | "agent" | "system";
export interface Citation {
  id: string;
  title: string;
  /** Its source's page (always https), when the source was uploaded with one. Show it as a
   * link opened apart (`rel="noopener noreferrer"`), after checking it is https again. */
  url?: string;
}
export interface Choice {
  id: string;
  title: string;
}
export interface MessageFrame {
  type: "message";
  seq: number;
  id: string;
  author: Author;
  text: string;
  citations: Citation[];
  created_at: string;
  client_id?: string;
  actions?: string[];
  author_name?: string;
  choices?: Choice[];
  attachments?: Attachment[];
}
export type HandoffState = "queued" | "agent_joined" | "returned_to_bot" | "resolved";
export interface HandoffFrame {
  type: "handoff";
  seq: number;
  state: HandoffState;
  created_at: string;
}
export interface DeltaFrame {
  type: "delta";
  stream_id: string;
  text: string;
}
export interface ServerTypingFrame {
  type: "typing";
  author: "assistant" | "agent";
  state: boolean;
  name?: string;
}
export interface ServerReadFrame {
  type: "read";
  seq: number;
  by: "agent";
}
export interface ReauthRequiredFrame {
  type: "reauth_required";
  expires_in: number;
}
export interface AvailabilityFrame {
  type: "availability";
  open: boolean;
  reason: "closed" | "nobody_available";
  reply_time: string;
  next_open_at: string | null;
  email_known: boolean;
}
export interface ContactSavedFrame {
  type: "contact_saved";
}
export interface TranscriptQueuedFrame {
  type: "transcript_queued";
}
export interface RatedFrame {
  type: "rated";
  score: number;
}
export interface FeedbackSavedFrame {
  type: "feedback_saved";
  id: string;
  thumbs: Thumbs;
}
export interface ChosenFrame {
  type: "chosen";
  message_id: string;
  choice: string;
}
/** The answer to `upload`: POST one file to `url` with the ticket (§3.7). */
export interface UploadTicketFrame {
  type: "upload_ticket";
  ticket: string;
  url: string;
  expires_at: string;
  max_bytes: number;
}
export interface ErrorFrame {
  type: "error";
  code: string;
  message: string;
}

export type ServerFrame =
  | ReadyFrame
  | AcceptedFrame
  | MessageFrame
  | HandoffFrame
  | DeltaFrame
  | ServerTypingFrame
  | ServerReadFrame
  | ReauthRequiredFrame
  | AvailabilityFrame
  | ContactSavedFrame
  | TranscriptQueuedFrame
  | RatedFrame
  | FeedbackSavedFrame
  | ChosenFrame
  | UploadTicketFrame
  | ErrorFrame;

/** The durable frames: numbered, acknowledged, replayed on resume (§4). */
export type DurableFrame = MessageFrame | HandoffFrame;

// ---- The same lists at run time, held equal to the types by the compiler -------------------

type Fields<F> = Exclude<keyof F, "type">;
type FieldTable<U extends { type: string }> = {
  readonly [T in U["type"]]: readonly Fields<Extract<U, { type: T }>>[];
};
/** `true` only when the list names every field of the frame (the other direction of the check). */
type Complete<U extends { type: string }, Table extends FieldTable<U>> = {
  [T in U["type"]]: [Fields<Extract<U, { type: T }>>] extends [Table[T][number]] ? true : false;
};

export const CLIENT_FRAME_FIELDS = {
  auth: ["token", "visitor", "visitor_token", "last_seq"],
  message: ["client_id", "text", "attachments"],
  ack: ["seq"],
  typing: ["state"],
  read: ["seq"],
  reauth: ["token"],
  handoff: [],
  contact: ["email"],
  transcript: [],
  rate: ["score", "comment"],
  feedback: ["id", "thumbs"],
  choose: ["message_id", "choice"],
  upload: [],
} as const satisfies FieldTable<ClientFrame>;

export const SERVER_FRAME_FIELDS = {
  ready: ["protocol", "conversation_id", "last_seq", "expires_at", "visitor_token", "people"],
  accepted: ["client_id", "seq", "id", "created_at", "attachments"],
  message: [
    "seq",
    "id",
    "author",
    "text",
    "citations",
    "created_at",
    "client_id",
    "actions",
    "author_name",
    "choices",
    "attachments",
  ],
  handoff: ["seq", "state", "created_at"],
  delta: ["stream_id", "text"],
  typing: ["author", "state", "name"],
  read: ["seq", "by"],
  reauth_required: ["expires_in"],
  availability: ["open", "reason", "reply_time", "next_open_at", "email_known"],
  contact_saved: [],
  transcript_queued: [],
  rated: ["score"],
  feedback_saved: ["id", "thumbs"],
  chosen: ["message_id", "choice"],
  upload_ticket: ["ticket", "url", "expires_at", "max_bytes"],
  error: ["code", "message"],
} as const satisfies FieldTable<ServerFrame>;

const clientComplete: Complete<ClientFrame, typeof CLIENT_FRAME_FIELDS> = {
  auth: true,
  message: true,
  ack: true,
  typing: true,
  read: true,
  reauth: true,
  handoff: true,
  contact: true,
  transcript: true,
  rate: true,
  feedback: true,
  choose: true,
  upload: true,
};
const serverComplete: Complete<ServerFrame, typeof SERVER_FRAME_FIELDS> = {
  ready: true,
  accepted: true,
  message: true,
  handoff: true,
  delta: true,
  typing: true,
  read: true,
  reauth_required: true,
  availability: true,
  contact_saved: true,
  transcript_queued: true,
  rated: true,
  feedback_saved: true,
  chosen: true,
  upload_ticket: true,
  error: true,
};
void clientComplete;
void serverComplete;

/** What a client does after each close code (docs/protocol.md §5). */
export type CloseAdvice = "final" | "resume" | "fresh_token" | "backoff";
export const CLOSE_CODES = {
  1000: "resume",
  1001: "resume",
  1009: "resume",
  1011: "resume",
  1013: "backoff",
  4400: "resume",
  4401: "fresh_token",
  4403: "final",
  4408: "resume",
  4429: "backoff",
} as const satisfies Readonly<Record<number, CloseAdvice>>;

/** The frame types a server may send, for checking what arrives. */
export const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set(Object.keys(SERVER_FRAME_FIELDS));
