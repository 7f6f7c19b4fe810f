// The tabs a first visit opens with: one per kind of question an auditor
// asks. GraphiQL keeps the user's own tabs in localStorage afterwards.

const search = `# Find nodes whose key or name contains a text, optionally of some labels.
# Results are sorted by key; pass \`next\` as \`after\` for the next page.
query Search($text: String, $labels: [Label!], $after: String) {
  search(text: $text, labels: $labels, after: $after, limit: 20) {
    nodes {
      key
      label
      name
      lastSeen
    }
    next
  }
}
`;

const lineage = `# The subgraph around a node. DOWNSTREAM follows lineage edges towards
# their effects (impact), UPSTREAM towards their causes (provenance).
# depth is clamped to 50; asOf shows the graph as it was at that time.
query Lineage($key: ID!, $direction: Direction, $depth: Int, $asOf: Time) {
  lineage(key: $key, direction: $direction, depth: $depth, asOf: $asOf) {
    root
    depth
    truncated
    nodes {
      key
      label
      name
      firstSeen
      lastSeen
    }
    edges {
      type
      from
      to
    }
  }
}
`;

const events = `# Live notices of ingested events. Run it, then send an OpenLineage event
# to /api/v1/lineage: it shows up here once it is in the graph.
subscription LiveEvents {
  lineageEvents(filter: { eventTypes: ["COMPLETE", "FAIL"] }) {
    offset
    receivedAt
    kind
    eventType
    jobKey
    runKey
    inputs
    outputs
    warnings
  }
}
`;

const counts = `# How big the graph is, per label and per edge type.
query Counts {
  counts {
    totalNodes
    totalEdges
    nodes {
      label
      count
    }
    edges {
      type
      count
    }
  }
}
`;

const json = (v) => JSON.stringify(v, null, 2);

export const defaultTabs = [
  {
    query: search,
    variables: json({ text: 'orders', labels: ['Dataset', 'DatasetVersion'] }),
  },
  {
    query: lineage,
    variables: json({
      key: 'dataset:postgres://db.example%3A5432:public.orders@v1',
      direction: 'DOWNSTREAM',
      depth: 4,
    }),
  },
  { query: events },
  { query: counts },
];
