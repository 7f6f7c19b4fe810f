// Redthread's GraphQL playground: GraphiQL, bundled whole so that it works
// on an air-gapped network. Nothing is loaded from anywhere but this server.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createClient } from 'graphql-ws';
import { createRoot } from 'react-dom/client';
import 'graphiql/style.css';

import { defaultTabs } from './examples.js';

// Monaco runs its language services in web workers; build.mjs bundles each
// one next to this file.
const workers = { json: 'json.worker.js', graphql: 'graphql.worker.js' };
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    return new Worker(new URL(workers[label] ?? 'editor.worker.js', import.meta.url));
  },
};

// The endpoint is "graphql" next to the page, so the playground works
// wherever it is mounted; subscriptions use the same path over websocket.
const url = new URL('graphql', window.location.href);
const wsUrl = new URL(url);
wsUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

const fetcher = createGraphiQLFetcher({
  url: url.href,
  wsClient: createClient({ url: wsUrl.href, lazy: true, retryAttempts: 3 }),
});

// GraphiQL 5 fills the first tab's editor with its query but not its
// variables. Give them on a first visit only (no saved tabs yet), so that a
// returning user's own variables are never replaced.
function firstVisit() {
  try {
    return window.localStorage.getItem('graphiql:tabState') === null;
  } catch {
    return true; // storage disabled: GraphiQL starts from the defaults too
  }
}

createRoot(document.getElementById('root')).render(
  <GraphiQL
    fetcher={fetcher}
    defaultTabs={defaultTabs}
    initialVariables={firstVisit() ? defaultTabs[0].variables : undefined}
    defaultEditorToolsVisibility="variables"
  >
    <GraphiQL.Logo>Redthread</GraphiQL.Logo>
  </GraphiQL>,
);
