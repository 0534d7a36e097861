// Asks the Switchboard backend for the agent's chat credentials and the
// ticket's chat group. The request goes through Zendesk's proxy, which signs
// a JWT with the secure `shared_secret` setting; the backend takes the agent
// id from the verified `sub` claim and joins the agent if they are assigned.
const client = ZAFClient.init();

async function connect() {
  const [{ currentUser }, { ticket }, metadata, context] = await Promise.all([
    client.get('currentUser'),
    client.get('ticket'),
    client.metadata(),
    client.context(),
  ]);
  const backend = metadata.settings.backend_url.replace(/\/$/, '');
  const session = await client.request({
    url: `${backend}/zendesk/app/session`,
    type: 'POST',
    contentType: 'application/json',
    data: JSON.stringify({ ticket_id: ticket.id }),
    secure: true,
    cors: false,
    autoRetry: false,
    headers: { Authorization: 'Bearer {{jwt.token}}' },
    jwt: {
      algorithm: 'HS256',
      secret_key: '{{setting.shared_secret}}',
      expiry: 300,
      claims: {
        sub: String(currentUser.id),
        iss: `https://${context.account.subdomain}.zendesk.com`,
        aud: backend,
      },
    },
  });
  // Hand session.user_id / session.usersig / session.sdk_app_id to the
  // Tencent Cloud Chat UIKit and open session.group_id.
  document.getElementById('status').textContent = session.joined
    ? `In chat ${session.group_id}`
    : `Chat ${session.group_id} (take the ticket to join)`;
}

connect().catch((error) => {
  document.getElementById('status').textContent = `Chat unavailable: ${error.responseText || error}`;
});
