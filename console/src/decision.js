// Why an appeal went where it went, in words: "Drawn among Anna 25 %, Boris 75 % → Boris".

// `selfId`: the reader's own operator id, so "only you were free" reads right in every language.
export function decisionInWords(decision, nameOf, t, fmt, selfId = null) {
  const winner = decision.winner ? nameOf(decision.winner) : null;
  const mine = selfId !== null && decision.winner === selfId;
  const pool = decision.candidates.filter((c) => c.eligible && c.draw_weight > 0);
  let headline;
  if (decision.sticky && winner) headline = t(mine ? "decision.sticky_you" : "decision.sticky", { winner });
  else if (!winner) headline = t("decision.nobody");
  else if (mine && pool.length === 1 && decision.draw_total > pool[0].draw_weight)
    // An operator's record holds only its own entry: colleagues were in the draw, unnamed and unweighed.
    headline = t("decision.drawn_you", { share: fmt.percent(pool[0].draw_weight / decision.draw_total) });
  else if (pool.length <= 1) headline = t(mine ? "decision.only_you" : "decision.only", { winner });
  else {
    const among = pool
      .map((c) => `${nameOf(c.operator_id)} ${fmt.percent(c.draw_weight / decision.draw_total)}`)
      .join(", ");
    headline = t("decision.drawn", { among, winner });
  }
  const details = [t(`decision.trigger.${decision.trigger}`), t(`decision.strategy.${decision.strategy}`)];
  const excluded = new Set(decision.excluded || []);
  const out = decision.candidates
    .filter((c) => !c.eligible)
    .map((c) => {
      let why = "not_serving";
      if (excluded.has(c.operator_id)) why = "excluded";
      else if (!c.is_active) why = "paused";
      else if (c.active_load >= c.max_load) why = "full";
      return `${nameOf(c.operator_id)} (${t(`decision.out.${why}`, { load: c.active_load, max: c.max_load })})`;
    });
  if (out.length) details.push(t("decision.out", { names: out.join(", ") }));
  if (decision.lost_races && decision.lost_races.length)
    details.push(t("decision.lost_races", { names: decision.lost_races.map(nameOf).join(", ") }));
  if (!decision.sticky && decision.draw !== null && decision.draw !== undefined && pool.length > 1)
    details.push(t("decision.draw", { draw: fmt.decimal(decision.draw), total: fmt.number(decision.draw_total) }));
  return { headline, details };
}

// Operators see their colleagues unnamed ("colleague 1"); admins see every name.
export function namer(names, me, t) {
  const colleagues = new Map();
  return (id) => {
    if (me.operator && id === me.operator.id) return me.role === "admin" ? me.operator.name : t("decision.you");
    if (names && names.get(id)) return names.get(id);
    if (!colleagues.has(id)) colleagues.set(id, colleagues.size + 1);
    return t("decision.colleague", { n: colleagues.get(id) });
  };
}

// A refused transfer lists every rule it fails: the server's words, each said in the chosen language.
const RULES = [
  [/already transferred \(deal ([^)]+)\)/, (m) => ["transfer.rule.already", { deal: m[1] }]],
  [/stage is (\w+), not qualified/, (m, t) => ["transfer.rule.stage", { stage: t(`stage.${m[1]}`) }]],
  [/no ai_score/, () => ["transfer.rule.no_score", {}]],
  [/ai_score ([\d.]+) is below ([\d.]+)/, (m, t, fmt) => ["transfer.rule.low_score", { score: fmt.decimal(+m[1]), threshold: fmt.decimal(+m[2]) }]],
  [/no business_domain/, () => ["transfer.rule.no_domain", {}]],
  [/score is stale/, () => ["transfer.rule.stale", {}]],
];

const NEXT_STEPS = / \((?=[^()]*\b(?:GET|POST|PATCH|PUT|DELETE) \/)[^()]*\)$/;

export function transferRefusals(message, t, fmt) {
  // The API appends what would help, as routes, in one parenthesis: "…; no business_domain
  // (POST /leads/{id}/analyze scores it now; set business_domain with PATCH /leads/{id})".
  // The view has its own buttons for those, so the hint is dropped before the rules are split.
  const text = String(message || "").replace(NEXT_STEPS, "");
  const list = text.includes(": ") ? text.slice(text.indexOf(": ") + 2) : text;
  return list
    .split("; ")
    .filter(Boolean)
    .map((rule) => {
      for (const [pattern, say] of RULES) {
        const found = rule.match(pattern);
        if (found) {
          const [key, vars] = say(found, t, fmt);
          return t(key, vars);
        }
      }
      return rule;
    });
}

export function featureLabel(feature, t, sourceName) {
  const [base, value] = String(feature).split("=");
  const label = t.has(`feature.${base}`) ? t(`feature.${base}`) : base;
  if (value === undefined) return label;
  if (base === "stage") return `${label}: ${t(`stage.${value}`)}`;
  if (base === "source" && sourceName) return `${label}: ${sourceName(value)}`;
  return `${label}: ${value}`;
}
