// The help desks' own Node clients against our emulators: node-zendesk (the
// Zendesk API client teams use) and jsforce (Salesforce's), exactly as locked
// in package-lock.json. jsforce is pinned to 3.10.16, the newest release
// that runs on Node 20 (later ones require Node 22).
//
// Usage: node crm-clients.mjs <call> <emulator url> <credential…>; prints
// what the client got, as JSON. A refused call prints its status and message
// instead of failing, so the test can check it.
import jsforce from 'jsforce';
import zendesk from 'node-zendesk';

const [call, url, ...credentials] = process.argv.slice(2);

async function zendeskTicket(client) {
  const created = await client.tickets.create({
    ticket: {
      subject: 'From node-zendesk',
      comment: { body: 'Opened with the official client.' },
      requester: { name: 'Nora Node', email: 'nora@example.com' },
    },
  });
  const ticket = created.result ?? created;
  const shown = await client.tickets.show(ticket.id);
  const user = await client.users.show(7001);
  return {
    id: ticket.id,
    subject: (shown.result ?? shown).subject,
    status: (shown.result ?? shown).status,
    agent: (user.result ?? user).name,
  };
}

async function salesforceCases(connection) {
  const cases = connection.sobject('Case');
  const created = await cases.create({ Subject: 'From jsforce', Description: 'Opened with jsforce.', Origin: 'Chat' });
  const record = await cases.retrieve(created.id);
  const first = await cases.upsert(
    { Switchboard_Request_Id__c: 'jsforce-1', Subject: 'Upserted by jsforce', Origin: 'Chat' },
    'Switchboard_Request_Id__c',
  );
  const again = await cases.upsert(
    { Switchboard_Request_Id__c: 'jsforce-1', Subject: 'Upserted again', Origin: 'Chat' },
    'Switchboard_Request_Id__c',
  );
  return {
    created: created.success,
    id: created.id,
    subject: record.Subject,
    upserted: [first.created ?? null, again.created ?? null],
    upserted_id: [first.id, again.id],
  };
}

const calls = {
  // API token (Basic `email/token:token`), as node-zendesk sends it.
  'zendesk-token': async () => {
    const [username, token] = credentials;
    return zendeskTicket(zendesk.createClient({ username, token, endpointUri: `${url}/api/v2` }));
  },
  // An OAuth access token (Bearer), minted by the client-credentials grant.
  'zendesk-oauth': async () => {
    const [clientId, clientSecret] = credentials;
    const minted = await fetch(`${url}/oauth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'read write' }),
    }).then((r) => r.json());
    const client = zendesk.createClient({ token: minted.access_token, oauth: true, endpointUri: `${url}/api/v2` });
    return zendeskTicket(client);
  },
  // OAuth 2.0 client credentials, jsforce's own flow.
  'salesforce-client-credentials': async () => {
    const [clientId, clientSecret] = credentials;
    const connection = new jsforce.Connection({ oauth2: { loginUrl: url, clientId, clientSecret } });
    await connection.authorize({ grant_type: 'client_credentials' });
    return { instance_url: connection.instanceUrl, ...(await salesforceCases(connection)) };
  },
  // The username-password flow through OAuth (jsforce's login with a
  // connected app).
  'salesforce-password': async () => {
    const [clientId, clientSecret, username, password] = credentials;
    const connection = new jsforce.Connection({ oauth2: { loginUrl: url, clientId, clientSecret } });
    await connection.login(username, password);
    return { instance_url: connection.instanceUrl, ...(await salesforceCases(connection)) };
  },
};

let result;
try {
  result = await calls[call]();
} catch (error) {
  result = {
    refused: true,
    status: error.statusCode ?? error.status ?? null,
    code: error.errorCode ?? error.name ?? null,
    message: String(error.message),
  };
}
process.stdout.write(JSON.stringify(result));
