// Small shared pieces: pages and sections, fields with labels, readable errors, bars.
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { useI18n } from "./i18n.js";

export function Page({ title, subtitle, actions, children }) {
  const heading = useRef(null);
  useEffect(() => {
    // A new view moves focus to its heading, so keyboard and screen-reader users start there.
    if (heading.current && !document.activeElement?.closest?.("main")) heading.current.focus();
  }, [title]);
  return (
    <>
      <header class="page-head">
        <div>
          <h1 tabIndex={-1} ref={heading}>
            {title}
          </h1>
          {subtitle && <p class="muted">{subtitle}</p>}
        </div>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </>
  );
}

export function Section({ title, actions, children, class: extra = "" }) {
  const id = useId();
  return (
    <section class={`card ${extra}`} aria-labelledby={id}>
      <div class="card-head">
        <h2 id={id}>{title}</h2>
        {actions && <div class="card-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

export function Button({ kind = "secondary", busy = false, children, ...rest }) {
  return (
    <button type="button" class={`btn btn-${kind}`} disabled={busy || rest.disabled} aria-busy={busy ? "true" : undefined} {...rest}>
      {children}
    </button>
  );
}

export function Field({ label, hint, error, children, class: extra = "" }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  // The control describes itself by its hint and, after a refusal, by the server's words about it.
  const described = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  const control = typeof children === "function" ? children(id, described, Boolean(error)) : children;
  return (
    <div class={`field ${extra}${error ? " field-invalid" : ""}`}>
      <label for={id}>{label}</label>
      {control}
      {hint && (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

// The 422's words about one field of the body (`tags` matches body.tags and body.tags.2), or
// null; `items`, the list that was sent, names the item a problem is about ("nocolon": …).
export function fieldError(error, name, items = null) {
  if (!error || error.status !== 422 || !error.details) return null;
  const lines = [];
  for (const problem of error.details) {
    const path = String(problem.path || "").replace(/^body\./, "");
    if (path !== name && !path.startsWith(`${name}.`)) continue;
    const item = path.slice(name.length + 1);
    if (!/^\d+$/.test(item)) lines.push(problem.msg);
    else lines.push(`${items && items[Number(item)] !== undefined ? `"${items[Number(item)]}"` : `#${Number(item) + 1}`}: ${problem.msg}`);
  }
  return lines.length ? lines.join("; ") : null;
}

// Words typed as "lang:uk, product:insurance" or "lang:uk product:insurance" → a tag list.
export function parseTags(text) {
  return text
    .split(/[\s,;]+/)
    .map((tag) => tag.trim().toLowerCase())
    .filter(Boolean);
}

export function TagList({ tags, label }) {
  const { t } = useI18n();
  if (!tags || !tags.length) return <p class="muted">{t("tags.none")}</p>;
  return (
    <ul class="tag-list" aria-label={label}>
      {tags.map((tag) => (
        <li key={tag}>
          <Badge tone="info">{tag}</Badge>
        </li>
      ))}
    </ul>
  );
}

export function Check({ label, checked, onChange, hint }) {
  const id = useId();
  return (
    <div class="check">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
      {hint && <p class="hint">{hint}</p>}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="loading" role="status">
      {t("common.loading")}
    </p>
  );
}

export function Empty({ children }) {
  return <p class="empty">{children}</p>;
}

export function Badge({ tone = "neutral", children }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

export function LoadBar({ current, max, label }) {
  const ratio = max > 0 ? Math.min(1, current / max) : current > 0 ? 1 : 0;
  const tone = ratio >= 1 ? "full" : ratio >= 0.75 ? "high" : "ok";
  return (
    <div class="loadbar" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={current}>
      <span class={`loadbar-fill loadbar-${tone}`} style={{ width: `${ratio * 100}%` }} />
    </div>
  );
}

export function Copy({ text, label }) {
  const { t } = useI18n();
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      setTimeout(() => setDone(false), 2000);
    } catch {
      setDone(false);
    }
  };
  return (
    <button type="button" class="btn btn-ghost btn-small" onClick={copy} aria-label={label}>
      {done ? t("common.copied") : t("common.copy")}
    </button>
  );
}

// An API error (or any error) in words: what happened, what the server said, which fields.
export function describeError(error, t) {
  if (!error) return null;
  const status = error.status;
  if (status === undefined) return { title: t("error.unexpected"), detail: String(error.message || error) };
  const known = [0, 400, 401, 403, 404, 409, 413, 415, 422, 503];
  const title = t(known.includes(status) ? `error.${status}` : status >= 500 ? "error.500" : "error.http", { status });
  let detail = error.message || "";
  // API Gateway's own 403 says nothing useful ("User is not authorized…"): say it in words.
  if (error.code === "no_route") return { title: t("error.no_route"), detail: t("error.no_route.detail"), fields: [] };
  if (status === 403 && (!detail || /not authorized|forbidden|may not call/i.test(detail))) detail = t("error.403.role");
  if (status === 0) detail = t("error.0.detail");
  const fields = (error.details || []).map((problem) => {
    const name = String(problem.path || "").split(".").pop();
    const label = t.has(`field.${name}`) ? t(`field.${name}`) : problem.path;
    return `${label}: ${problem.msg}`;
  });
  return { title, detail, fields };
}

export function ErrorMessage({ error, onDismiss }) {
  const { t } = useI18n();
  const described = describeError(error, t);
  if (!described) return null;
  return (
    <div class="alert alert-error" role="alert">
      <p class="alert-title">{described.title}</p>
      {described.detail && <p>{described.detail}</p>}
      {described.fields.length > 0 && (
        <ul>
          {described.fields.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
      {onDismiss && (
        <button type="button" class="btn btn-ghost btn-small" onClick={onDismiss}>
          {t("common.dismiss")}
        </button>
      )}
    </div>
  );
}

export function Notice({ tone = "info", children }) {
  return (
    <div class={`alert alert-${tone}`} role="status">
      {children}
    </div>
  );
}

// A signed value drawn from the middle: right and green when it pushed up, left and red when down.
export function SignedBars({ rows, label }) {
  const { fmt } = useI18n();
  const biggest = Math.max(0.0001, ...rows.map((row) => Math.abs(row.value)));
  return (
    <ul class="signed-bars" aria-label={label}>
      {rows.map((row) => {
        const width = `${(Math.abs(row.value) / biggest) * 50}%`;
        const up = row.value >= 0;
        return (
          <li key={row.key}>
            <span class="signed-label">{row.label}</span>
            <span class="signed-track" aria-hidden="true">
              <span class={`signed-fill ${up ? "up" : "down"}`} style={up ? { left: "50%", width } : { right: "50%", width }} />
            </span>
            <span class={`signed-value ${up ? "up" : "down"}`}>{fmt.signed(row.value)}</span>
          </li>
        );
      })}
    </ul>
  );
}

// Shares as bars that follow the numbers as they are typed.
export function ShareBar({ share, label }) {
  const { fmt } = useI18n();
  return (
    <span class="sharebar">
      <span class="sharebar-track" aria-hidden="true">
        <span class="sharebar-fill" style={{ width: `${Math.round(share * 1000) / 10}%` }} />
      </span>
      <output aria-label={label}>{fmt.percentFine(share)}</output>
    </span>
  );
}
