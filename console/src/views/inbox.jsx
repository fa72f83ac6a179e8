// The operator's inbox: active appeals (those waiting for Accept first, with their SLA
// countdown), Accept and Close, presence, and the closed ones.
import { useEffect, useRef, useState } from "preact/hooks";
import { useAction, useApp, useLoad, useNow, usePoll } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { Badge, Button, Empty, ErrorMessage, Loading, LoadBar, Page, Section } from "../ui.jsx";

// Unaccepted first (earliest deadline first, then the oldest); then accepted, latest first.
export function inboxOrder(a, b) {
  const waitingA = !a.accepted_at;
  const waitingB = !b.accepted_at;
  if (waitingA !== waitingB) return waitingA ? -1 : 1;
  if (waitingA) {
    const dueA = a.accept_by ? Date.parse(a.accept_by) : Infinity;
    const dueB = b.accept_by ? Date.parse(b.accept_by) : Infinity;
    if (dueA !== dueB) return dueA - dueB;
    return Date.parse(a.assigned_at || a.created_at) - Date.parse(b.assigned_at || b.created_at);
  }
  return Date.parse(b.accepted_at) - Date.parse(a.accepted_at);
}

export function SlaCountdown({ appeal, now }) {
  const { t, fmt } = useI18n();
  if (appeal.status !== "active" || appeal.accepted_at || !appeal.accept_by) return null;
  const left = (Date.parse(appeal.accept_by) - now) / 1000;
  if (left > 0) {
    return (
      <span role="timer" class={`sla ${left < 60 ? "sla-urgent" : "sla-running"}`}>
        {t("sla.left", { clock: fmt.clock(left) })}
      </span>
    );
  }
  return (
    <span role="timer" class="sla sla-lapsed">
      {t("sla.lapsed", { clock: fmt.clock(-left) })}
    </span>
  );
}

export function AppealActions({ appeal, onChanged, compact = false }) {
  const { api, announce } = useApp();
  const { t } = useI18n();
  const action = useAction();
  const who = appeal.lead_external_id;
  const accept = () =>
    action.run(async () => {
      const updated = await api.post(`/appeals/${appeal.id}/accept`);
      announce(t("appeal.accepted_note", { who }));
      onChanged(updated);
    });
  const close = () =>
    action.run(async () => {
      const updated = await api.post(`/appeals/${appeal.id}/close`);
      announce(t("appeal.closed_note", { who }));
      onChanged(updated);
    });
  if (appeal.status === "closed") return null;
  return (
    <div class="actions">
      {appeal.status === "active" && !appeal.accepted_at && (
        <Button kind="primary" busy={action.busy} onClick={accept} aria-label={compact ? t("appeal.accept_who", { who }) : undefined}>
          {t("appeal.accept")}
        </Button>
      )}
      <Button kind="secondary" busy={action.busy} onClick={close} aria-label={compact ? t("appeal.close_who", { who }) : undefined}>
        {t("appeal.close")}
      </Button>
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </div>
  );
}

// Leads' names for the cards, fetched once per lead (an appeal carries only the lead's id).
const leadNames = new Map();

export function useLeadNames(appeals) {
  const { api } = useApp();
  const [, setVersion] = useState(0);
  const missing = [...new Set(appeals.map((a) => a.lead_id))].filter((id) => !leadNames.has(id));
  useEffect(() => {
    if (!missing.length) return;
    for (const id of missing) leadNames.set(id, null);
    Promise.all(
      missing.map((id) =>
        api.get(`/leads/${id}`).then(
          (lead) => leadNames.set(id, lead.name || null),
          () => leadNames.delete(id),
        ),
      ),
    ).then(() => setVersion((n) => n + 1));
  }, [missing.join(",")]);
  return (id) => leadNames.get(id) || null;
}

export function AppealCard({ appeal, now, fresh, onChanged, showOperator = false, leadName = null }) {
  const { t, fmt } = useI18n();
  return (
    <li class={`appeal-card${fresh ? " fresh" : ""}${appeal.accepted_at ? "" : " unaccepted"}`}>
      <div class="appeal-card-head">
        <h3>
          <a href={href(`/appeals/${appeal.id}`)}>{leadName || appeal.lead_external_id}</a>
          {leadName && <span class="external-id">{appeal.lead_external_id}</span>}
        </h3>
        <time datetime={appeal.created_at} title={fmt.dateTime(appeal.created_at)}>
          {fmt.ago(appeal.last_message_at || appeal.created_at, now)}
        </time>
      </div>
      <p class="message">{appeal.message}</p>
      <div class="meta">
        {appeal.status === "waiting" && <Badge tone="warning">{t("appeal.state.waiting")}</Badge>}
        {appeal.status === "closed" && <Badge>{t("appeal.state.closed")}</Badge>}
        <SlaCountdown appeal={appeal} now={now} />
        {appeal.status === "active" && !appeal.accepted_at && !appeal.accept_by && (
          <Badge tone="info">{t("appeal.awaiting_accept")}</Badge>
        )}
        {appeal.accepted_at && appeal.status === "active" && (
          <Badge tone="success">{t("appeal.accepted_at", { time: fmt.time(appeal.accepted_at) })}</Badge>
        )}
        {appeal.escalated && <Badge tone="danger">{t("appeal.escalated")}</Badge>}
        {appeal.message_count > 1 && <Badge>{t.n("appeal.messages", appeal.message_count)}</Badge>}
        {showOperator && appeal.operator && <Badge tone="info">{appeal.operator.name}</Badge>}
        {appeal.closed_at && <span class="muted">{t("appeal.closed_at", { time: fmt.dateTime(appeal.closed_at) })}</span>}
      </div>
      <AppealActions appeal={appeal} onChanged={onChanged} compact />
    </li>
  );
}

function Presence({ count }) {
  const { api, refreshMe, announce } = useApp();
  const { t, fmt } = useI18n();
  const me = usePoll(api, "/me", 10000);
  const action = useAction();
  const operator = me.data && me.data.operator;
  if (!operator) return me.error ? <ErrorMessage error={me.error} /> : null;
  // An API that knows presence (issue 18) pauses with it; is_active then means "may work at all".
  // An older one only has is_active, which is then the pause.
  const withPresence = typeof operator.presence === "string";
  const paused = withPresence ? operator.presence === "paused" || !operator.is_active : !operator.is_active;
  const offShift = withPresence && !paused && operator.presence === "off_shift";
  const toggle = () =>
    action.run(async () => {
      await api.patch("/me", withPresence ? { presence: paused ? "available" : "paused" } : { is_active: paused });
      await Promise.all([me.refresh(), refreshMe()]);
      announce(t(paused ? "presence.resumed_note" : "presence.paused_note"));
    });
  const load = Math.max(count, 0);
  return (
    <div class={`presence ${paused || offShift ? "off" : "on"}`}>
      <div>
        <p class="presence-state">
          <span class="dot" aria-hidden="true" />
          {offShift
            ? operator.presence_until
              ? t("presence.off_shift_until", { at: fmt.dateTime(operator.presence_until) })
              : t("presence.off_shift_now")
            : t(paused ? "presence.off" : "presence.on")}
        </p>
        {paused && operator.presence_reason && <p class="muted">{operator.presence_reason}</p>}
        <p class="muted">{t("presence.load", { count: load, max: operator.max_load })}</p>
        <LoadBar current={load} max={operator.max_load} label={t("presence.load_label")} />
      </div>
      <Button kind={paused ? "primary" : "secondary"} busy={action.busy} onClick={toggle}>
        {t(paused ? "presence.resume" : "presence.pause")}
      </Button>
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </div>
  );
}

export function Inbox() {
  const { api, announce } = useApp();
  const { t } = useI18n();
  const now = useNow(1000);
  const poll = usePoll(api, "/me/appeals?status=active&limit=200", 3000);
  const seen = useRef(null);
  const [fresh, setFresh] = useState(() => new Set());
  const items = poll.data ? [...poll.data.items].sort(inboxOrder) : [];

  useEffect(() => {
    if (!poll.data) return;
    const ids = poll.data.items.map((appeal) => appeal.id);
    if (seen.current) {
      const added = poll.data.items.filter((appeal) => !seen.current.has(appeal.id));
      if (added.length) {
        announce(t.n("inbox.arrived", added.length, { who: added.map((a) => a.lead_external_id).join(", ") }));
        setFresh(new Set(added.map((appeal) => appeal.id)));
      }
    }
    seen.current = new Set(ids);
  }, [poll.data]);

  const waiting = items.filter((appeal) => !appeal.accepted_at);
  const working = items.filter((appeal) => appeal.accepted_at);
  const nameOf = useLeadNames(items);
  return (
    <Page
      title={t("inbox.title")}
      subtitle={t("inbox.subtitle")}
      actions={
        <a class="btn btn-ghost" href={href("/inbox/closed")}>
          {t("inbox.closed_link")}
        </a>
      }
    >
      <Presence count={items.length} />
      {poll.error && <ErrorMessage error={poll.error} />}
      {poll.loading && !poll.data ? (
        <Loading />
      ) : (
        <>
          <Section title={t.n("inbox.waiting", waiting.length)}>
            {waiting.length ? (
              <ul class="appeal-list">
                {waiting.map((appeal) => (
                  <AppealCard key={appeal.id} appeal={appeal} now={now} fresh={fresh.has(appeal.id)} onChanged={poll.refresh} leadName={nameOf(appeal.lead_id)} />
                ))}
              </ul>
            ) : (
              <Empty>{t("inbox.none_waiting")}</Empty>
            )}
          </Section>
          <Section title={t.n("inbox.working", working.length)}>
            {working.length ? (
              <ul class="appeal-list">
                {working.map((appeal) => (
                  <AppealCard key={appeal.id} appeal={appeal} now={now} fresh={fresh.has(appeal.id)} onChanged={poll.refresh} leadName={nameOf(appeal.lead_id)} />
                ))}
              </ul>
            ) : (
              <Empty>{t("inbox.none_working")}</Empty>
            )}
          </Section>
        </>
      )}
    </Page>
  );
}

// A list that pages with "Show more" (the API's cursor).
export function usePaged(api, path, deps) {
  const [pages, setPages] = useState({ items: [], next: null });
  const first = useLoad(async () => {
    const page = await api.get(path);
    setPages(page);
    return page;
  }, deps);
  const more = useAction();
  const loadMore = () =>
    more.run(async () => {
      const sep = path.includes("?") ? "&" : "?";
      const page = await api.get(`${path}${sep}cursor=${encodeURIComponent(pages.next)}`);
      setPages({ items: [...pages.items, ...page.items], next: page.next });
    });
  return { ...first, items: pages.items, next: pages.next, loadMore, more };
}

export function Closed() {
  const { api } = useApp();
  const { t } = useI18n();
  const now = useNow(30000);
  const list = usePaged(api, "/me/appeals?status=closed&limit=25", []);
  const nameOf = useLeadNames(list.items);
  return (
    <Page
      title={t("closed.title")}
      actions={
        <a class="btn btn-ghost" href={href("/inbox")}>
          {t("closed.back")}
        </a>
      }
    >
      <ErrorMessage error={list.error} />
      <Section title={t.n("closed.count", list.items.length, { more: list.next ? "+" : "" })}>
        {list.loading && !list.items.length ? (
          <Loading />
        ) : list.items.length ? (
          <ul class="appeal-list">
            {list.items.map((appeal) => (
              <AppealCard key={appeal.id} appeal={appeal} now={now} onChanged={list.reload} leadName={nameOf(appeal.lead_id)} />
            ))}
          </ul>
        ) : (
          <Empty>{t("closed.none")}</Empty>
        )}
      </Section>
      {list.next && (
        <Button busy={list.more.busy} onClick={list.loadMore}>
          {t("common.more")}
        </Button>
      )}
      <ErrorMessage error={list.more.error} />
    </Page>
  );
}
