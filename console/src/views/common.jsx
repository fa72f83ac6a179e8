// Pieces several views share: names of operators and sources, and the timeline.
import { useApp, useLoad } from "../hooks.js";
import { useI18n } from "../i18n.js";

// Names for the people and channels an admin sees; an operator gets none (colleagues stay unnamed).
export function useDirectory() {
  const { api, me } = useApp();
  const load = useLoad(async () => {
    if (me.role !== "admin") return { operators: new Map(), sources: new Map() };
    const [operators, sources] = await Promise.all([api.all("/operators"), api.all("/sources")]);
    return {
      operators: new Map(operators.map((o) => [o.id, o.name])),
      sources: new Map(sources.map((s) => [s.id, s.name])),
      operatorList: operators,
    };
  }, [api, me.role]);
  return load.data || { operators: new Map(), sources: new Map() };
}

export function Timeline({ entries }) {
  const { fmt } = useI18n();
  return (
    <ol class="timeline">
      {entries.map((entry, i) => (
        <li key={i} class={`timeline-item timeline-${entry.kind}`}>
          <span class="timeline-dot" aria-hidden="true" />
          <div>
            <p class="timeline-text">{entry.text}</p>
            <time class="muted" datetime={entry.at}>
              {fmt.dateTime(entry.at)}
            </time>
            {entry.children}
          </div>
        </li>
      ))}
    </ol>
  );
}

