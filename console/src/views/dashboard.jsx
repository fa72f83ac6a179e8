// The distribution dashboard: per source, target vs actual shares, who waits, who is free.
import { useApp, usePoll } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { ShareChart } from "../charts.jsx";
import { Badge, Empty, ErrorMessage, Loading, LoadBar, Page, Section } from "../ui.jsx";

function Availability({ sourceId }) {
  const { api } = useApp();
  const { t } = useI18n();
  const who = usePoll(api, `/stats/sources/${sourceId}/operators`, 5000);
  if (!who.data) return who.error ? <ErrorMessage error={who.error} /> : <Loading />;
  const operators = who.data.operators;
  if (!operators.length) return <Empty>{t("dashboard.nobody_serves")}</Empty>;
  const state = (o) => (!o.is_active ? "paused" : o.is_available ? "free" : "full");
  return (
    <ul class="availability">
      {operators.map((o) => (
        <li key={o.id} class={`avail avail-${state(o)}`}>
          <span class="avail-name">
            <a href={href(`/operators/${o.id}`)}>{o.name}</a>
          </span>
          <Badge tone={state(o) === "free" ? "success" : state(o) === "full" ? "warning" : "neutral"}>{t(`dashboard.state.${state(o)}`)}</Badge>
          <span class="muted">{t("operators.load", { count: o.current_load, max: o.max_load })}</span>
          <LoadBar current={o.current_load} max={o.max_load} label={t("operators.load_of", { name: o.name })} />
        </li>
      ))}
    </ul>
  );
}

function SourceCard({ source }) {
  const { t, fmt } = useI18n();
  const rows = source.operators.map((o) => ({ name: o.name, target: o.target_share, actual: o.actual_share }));
  return (
    <Section
      title={source.name}
      class="source-card"
      actions={
        <a class="btn btn-ghost btn-small" href={href(`/sources/${source.source_id}`)} aria-label={t("sources.open_who", { name: source.name })}>
          {t("sources.open")}
        </a>
      }
    >
      <div class="kpis">
        <div class="kpi">
          <span class="kpi-value">{fmt.number(source.total_appeals)}</span>
          <span class="kpi-label">{t("dashboard.total")}</span>
        </div>
        <a class={`kpi kpi-link${source.waiting_now ? " kpi-warning" : ""}`} href={href("/waiting")}>
          <span class="kpi-value">{fmt.number(source.waiting_now)}</span>
          <span class="kpi-label">{t("dashboard.waiting_now")}</span>
        </a>
        <div class="kpi">
          <span class="kpi-value kpi-text">{t(`strategy.${source.strategy}`)}</span>
          <span class="kpi-label">{t("field.strategy")}</span>
        </div>
      </div>
      {rows.length ? (
        <>
          <h3 class="subhead">{t("dashboard.shares")}</h3>
          <ShareChart rows={rows} label={t("dashboard.chart_label", { name: source.name })} />
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">{t("weights.operator")}</th>
                <th scope="col" class="hide-narrow">{t("weights.weight")}</th>
                <th scope="col">{t("dashboard.target")}</th>
                <th scope="col">{t("dashboard.actual")}</th>
                <th scope="col" class="hide-narrow">{t("dashboard.assigned")}</th>
                <th scope="col">{t("dashboard.active_now")}</th>
              </tr>
            </thead>
            <tbody>
              {source.operators.map((o) => (
                <tr key={o.id}>
                  <th scope="row">{o.name}</th>
                  <td class="hide-narrow">{fmt.number(o.weight)}</td>
                  <td>{fmt.percentFine(o.target_share)}</td>
                  <td>{fmt.percentFine(o.actual_share)}</td>
                  <td class="hide-narrow">{fmt.number(o.assigned_total)}</td>
                  <td>{fmt.number(o.active_now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <Empty>
          {t("dashboard.no_weights")} <a href={href(`/sources/${source.source_id}`)}>{t("dashboard.set_weights")}</a>
        </Empty>
      )}
      <h3 class="subhead">{t("dashboard.available")}</h3>
      <Availability sourceId={source.source_id} />
    </Section>
  );
}

export function Dashboard() {
  const { api } = useApp();
  const { t } = useI18n();
  const stats = usePoll(api, "/stats/distribution?limit=50", 5000);
  const sources = (stats.data && stats.data.items) || [];
  return (
    <Page title={t("dashboard.title")} subtitle={t("dashboard.subtitle")}>
      {stats.error && <ErrorMessage error={stats.error} />}
      {!stats.data ? (
        !stats.error && <Loading />
      ) : sources.length ? (
        <div class="cards">
          {sources.map((source) => (
            <SourceCard key={source.source_id} source={source} />
          ))}
        </div>
      ) : (
        <Empty>
          {t("dashboard.no_sources")} <a href={href("/sources")}>{t("dashboard.create_source")}</a>
        </Empty>
      )}
    </Page>
  );
}
