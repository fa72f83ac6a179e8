// An appeal's conversation: every message, oldest first, who wrote it, and for replies
// whether they reached the lead; a reply box under it (Ctrl/Cmd+Enter sends).
import { useRef, useState } from "preact/hooks";
import { useAction, useApp, usePoll } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { Badge, ErrorMessage, Field, Loading } from "../ui.jsx";

const TONES = { sent: "success", pending: "warning", failed: "danger" };

function newClientId() {
  const random = globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  return `console-${random}`.replace(/[^A-Za-z0-9_.:-]/g, "");
}

export function Conversation({ appeal, onReplied }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  // The newest 200 messages are what a person reads here; the API pages further.
  const messages = usePoll(api, `/appeals/${encodeURIComponent(appeal.id)}/messages?limit=200`, 5000);
  const [text, setText] = useState("");
  // One id per reply being written: a retried click after a timeout sends it once.
  const clientId = useRef(newClientId());
  const action = useAction();
  const open = appeal.status !== "closed";
  const items = (messages.data && messages.data.items) || [];

  const send = (event) => {
    event.preventDefault();
    if (!text.trim()) return;
    action.run(async () => {
      const sent = await api.post(`/appeals/${encodeURIComponent(appeal.id)}/messages`, {
        text,
        client_message_id: clientId.current,
      });
      setText("");
      clientId.current = newClientId();
      announce(t(`conversation.result.${sent.status || "pending"}`, { error: sent.error || "" }));
      messages.refresh();
      if (onReplied) onReplied(sent);
    });
  };
  const keys = (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) send(event);
  };

  return (
    <div class="conversation">
      <ErrorMessage error={messages.error} />
      {messages.loading && !messages.data ? (
        <Loading />
      ) : items.length ? (
        <ol class="messages" aria-label={t("conversation.title")}>
          {items.map((m) => (
            <li key={m.id} class={`message message-${m.direction}`}>
              <p class="message-meta">
                <span>{m.direction === "in" ? t("conversation.from_lead") : t("conversation.from_us")}</span>{" "}
                <time dateTime={m.created_at}>{fmt.dateTime(m.created_at)}</time>{" "}
                {m.status && (
                  <Badge tone={TONES[m.status] || "neutral"}>{t(`conversation.status.${m.status}`)}</Badge>
                )}
              </p>
              <p class="message-text">{m.text}</p>
              {m.error && <p class="message-error">{t("conversation.failed_because", { error: m.error })}</p>}
            </li>
          ))}
        </ol>
      ) : (
        <blockquote class="message-full">{appeal.message}</blockquote>
      )}
      {open && (
        <form class="reply-form" onSubmit={send}>
          <Field label={t("conversation.reply_label")} hint={t("conversation.reply_hint")}>
            {(id, hintId) => (
              <textarea
                id={id}
                aria-describedby={hintId}
                rows={3}
                maxLength={4096}
                value={text}
                onInput={(e) => setText(e.currentTarget.value)}
                onKeyDown={keys}
              />
            )}
          </Field>
          <button type="submit" class="btn btn-primary" disabled={action.busy || !text.trim()}>
            {t("conversation.send")}
          </button>
          <ErrorMessage error={action.error} onDismiss={action.clear} />
        </form>
      )}
    </div>
  );
}
