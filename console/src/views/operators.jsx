// Operators: create, edit, activate or pause (optionally handing their unaccepted work on),
// load bars, and each operator's appeals.
import { useState } from "preact/hooks";
import { useAction, useApp, useLoad, useNow } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { Badge, Button, Check, Copy, Empty, ErrorMessage, Field, Loading, LoadBar, Page, Section, TagList } from "../ui.jsx";
import { AppealCard, usePaged } from "./inbox.jsx";
import { PresenceBadge, ScheduleEditor } from "./hours.jsx";
import { OperatorSkills } from "./routing.jsx";

function CreateOperator({ onCreated }) {
  const { api, announce } = useApp();
  const { t } = useI18n();
  const [name, setName] = useState("");
  const [maxLoad, setMaxLoad] = useState("10");
  const [active, setActive] = useState(true);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("operator");
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    action.run(async () => {
      const body = { name: name.trim(), max_load: Number(maxLoad), is_active: active };
      // With an address the server invites the person (a login bound to this operator); without, nobody signs in yet.
      const invite = email.trim();
      const created = await api.post("/operators", invite ? { ...body, email: invite, role } : body);
      announce(t(invite ? "operators.invited_note" : "operators.created_note", { name: created.name }));
      setName("");
      setEmail("");
      onCreated(created);
    });
  };
  return (
    <Section title={t("operators.new")}>
      <form class="form-row" onSubmit={submit}>
        <Field label={t("field.name")}>
          {(id) => <input id={id} value={name} required maxLength={200} autocomplete="off" onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <Field label={t("field.max_load")} hint={t("operators.max_load_hint")}>
          {(id, hint) => (
            <input id={id} type="number" inputMode="numeric" min={0} max={1000} required value={maxLoad} aria-describedby={hint} onInput={(e) => setMaxLoad(e.currentTarget.value)} />
          )}
        </Field>
        <Field label={t("field.email")} hint={t("operators.email_hint")}>
          {(id, hint) => (
            <input id={id} type="email" value={email} maxLength={254} autocomplete="off" aria-describedby={hint} onInput={(e) => setEmail(e.currentTarget.value)} />
          )}
        </Field>
        {email.trim() && (
          <Field label={t("field.role")}>
            {(id) => (
              <select id={id} value={role} onChange={(e) => setRole(e.currentTarget.value)}>
                <option value="operator">{t("role.operator")}</option>
                <option value="admin">{t("role.admin")}</option>
              </select>
            )}
          </Field>
        )}
        <Check label={t("field.is_active")} checked={active} onChange={setActive} />
        <button type="submit" class="btn btn-primary" disabled={action.busy}>
          {t("operators.create")}
        </button>
      </form>
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </Section>
  );
}

function EditOperator({ operator, onSaved, onCancel }) {
  const { api } = useApp();
  const { t } = useI18n();
  const [name, setName] = useState(operator.name);
  const [maxLoad, setMaxLoad] = useState(String(operator.max_load));
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    const patch = {};
    if (name.trim() !== operator.name) patch.name = name.trim();
    if (Number(maxLoad) !== operator.max_load) patch.max_load = Number(maxLoad);
    if (!Object.keys(patch).length) return onCancel();
    action.run(async () => onSaved(await api.patch(`/operators/${operator.id}`, patch)));
  };
  return (
    <form class="form-row edit-row" onSubmit={submit}>
      <Field label={t("field.name")}>
        {(id) => <input id={id} value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />}
      </Field>
      <Field label={t("field.max_load")}>
        {(id) => <input id={id} type="number" min={0} max={1000} required value={maxLoad} onInput={(e) => setMaxLoad(e.currentTarget.value)} />}
      </Field>
      <button type="submit" class="btn btn-primary" disabled={action.busy}>
        {t("common.save")}
      </button>
      <Button kind="ghost" onClick={onCancel}>
        {t("common.cancel")}
      </Button>
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </form>
  );
}

function ActiveSwitch({ operator, onSaved }) {
  const { api, announce } = useApp();
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  const [handOn, setHandOn] = useState(true);
  const action = useAction();
  const set = (active, redistribute = false) =>
    action.run(async () => {
      const updated = await api.patch(`/operators/${operator.id}${redistribute ? "?redistribute=true" : ""}`, { is_active: active });
      announce(t(active ? "operators.activated_note" : "operators.paused_note", { name: operator.name }));
      setAsking(false);
      onSaved(updated);
    });
  if (operator.is_active && asking) {
    return (
      <div class="confirm">
        <Check label={t("operators.hand_on")} checked={handOn} onChange={setHandOn} />
        <Button kind="danger" busy={action.busy} onClick={() => set(false, handOn)}>
          {t("operators.pause_confirm", { name: operator.name })}
        </Button>
        <Button kind="ghost" onClick={() => setAsking(false)}>
          {t("common.cancel")}
        </Button>
        <ErrorMessage error={action.error} onDismiss={action.clear} />
      </div>
    );
  }
  return (
    <>
      {operator.is_active ? (
        <Button onClick={() => setAsking(true)} aria-label={t("operators.pause_who", { name: operator.name })}>
          {t("operators.pause")}
        </Button>
      ) : (
        <Button kind="primary" busy={action.busy} onClick={() => set(true)} aria-label={t("operators.activate_who", { name: operator.name })}>
          {t("operators.activate")}
        </Button>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </>
  );
}

function OperatorRow({ operator, onSaved }) {
  const { t } = useI18n();
  const [editing, setEditing] = useState(false);
  return (
    <li class="operator-row">
      <div class="operator-main">
        <p class="operator-name">
          <a href={href(`/operators/${operator.id}`)}>{operator.name}</a>{" "}
          <Badge tone={operator.is_active ? "success" : "neutral"}>{t(operator.is_active ? "operators.active" : "operators.paused")}</Badge>
        </p>
        {operator.tags && operator.tags.length > 0 && <TagList tags={operator.tags} label={t("skills.of", { name: operator.name })} />}
        <p class="muted id-line">
          <code>{operator.id}</code> <Copy text={operator.id} label={t("operators.copy_id", { name: operator.name })} />
        </p>
      </div>
      <div class="operator-load">
        <span class="muted">{t("operators.load", { count: operator.current_load, max: operator.max_load })}</span>
        <LoadBar current={operator.current_load} max={operator.max_load} label={t("operators.load_of", { name: operator.name })} />
      </div>
      <div class="actions">
        {!editing && (
          <Button onClick={() => setEditing(true)} aria-label={t("operators.edit_who", { name: operator.name })}>
            {t("common.edit")}
          </Button>
        )}
        <ActiveSwitch operator={operator} onSaved={onSaved} />
      </div>
      {editing && <EditOperator operator={operator} onSaved={(updated) => (setEditing(false), onSaved(updated))} onCancel={() => setEditing(false)} />}
    </li>
  );
}

export function Operators() {
  const { api, config } = useApp();
  const { t } = useI18n();
  const list = useLoad(() => api.all("/operators"), []);
  const replace = (updated) => list.setData(list.data.map((o) => (o.id === updated.id ? updated : o)));
  return (
    <Page title={t("operators.title")} subtitle={t("operators.subtitle")}>
      <CreateOperator onCreated={(created) => list.setData([created, ...(list.data || [])])} />
      <Section title={t.n("operators.count", (list.data || []).length)} actions={<Button onClick={list.reload}>{t("common.refresh")}</Button>}>
        <ErrorMessage error={list.error} />
        {config.auth === "token" && <p class="hint">{t("operators.token_hint")}</p>}
        {!list.data ? (
          !list.error && <Loading />
        ) : list.data.length ? (
          <ul class="operator-list">
            {list.data.map((operator) => (
              <OperatorRow key={operator.id} operator={operator} onSaved={replace} />
            ))}
          </ul>
        ) : (
          <Empty>{t("operators.none")}</Empty>
        )}
      </Section>
    </Page>
  );
}

export function OperatorDetail({ operatorId }) {
  const { api } = useApp();
  const { t } = useI18n();
  const now = useNow(15000);
  const operator = useLoad(() => api.get(`/operators/${encodeURIComponent(operatorId)}`), [operatorId]);
  const [status, setStatus] = useState("active");
  const appeals = usePaged(api, `/operators/${encodeURIComponent(operatorId)}/appeals?status=${status}&limit=25`, [operatorId, status]);
  if (!operator.data) {
    return <Page title={t("operators.title")}>{operator.error ? <ErrorMessage error={operator.error} /> : <Loading />}</Page>;
  }
  const o = operator.data;
  return (
    <Page
      title={o.name}
      subtitle={t(o.is_active ? "operators.active" : "operators.paused")}
      actions={
        <a class="btn btn-ghost" href={href("/operators")}>
          {t("operators.back")}
        </a>
      }
    >
      <Section title={t("operators.load_title")}>
        {o.presence && (
          <p class="presence-now">
            {t("presence.now")} <PresenceBadge presence={o.presence} />
            {o.presence_reason && <span class="muted"> · {o.presence_reason}</span>}
          </p>
        )}
        <p>{t("operators.load", { count: o.current_load, max: o.max_load })}</p>
        <LoadBar current={o.current_load} max={o.max_load} label={t("operators.load_of", { name: o.name })} />
        <div class="actions">
          <ActiveSwitch operator={o} onSaved={operator.setData} />
        </div>
      </Section>
      <Section title={t("skills.title")}>
        <OperatorSkills key={o.id} operator={o} onSaved={operator.setData} />
      </Section>
      <Section title={t("hours.schedule")}>
        <ScheduleEditor path={`/operators/${encodeURIComponent(o.id)}/schedule`} own={false} />
      </Section>
      <Section
        title={t("operators.appeals")}
        actions={
          <div class="segmented" role="group" aria-label={t("operators.appeals")}>
            {["active", "closed"].map((value) => (
              <button key={value} type="button" class={`btn btn-small ${status === value ? "btn-primary" : "btn-ghost"}`} aria-pressed={status === value ? "true" : "false"} onClick={() => setStatus(value)}>
                {t(`status.${value}`)}
              </button>
            ))}
          </div>
        }
      >
        <ErrorMessage error={appeals.error} />
        {appeals.items.length ? (
          <ul class="appeal-list">
            {appeals.items.map((appeal) => (
              <AppealCard key={appeal.id} appeal={appeal} now={now} onChanged={appeals.reload} />
            ))}
          </ul>
        ) : (
          !appeals.loading && <Empty>{t("operators.no_appeals")}</Empty>
        )}
        {appeals.next && (
          <Button busy={appeals.more.busy} onClick={appeals.loadMore}>
            {t("common.more")}
          </Button>
        )}
      </Section>
    </Page>
  );
}
