// The Case's chat with the customer, on the Case record page and in the
// service console's utility bar (where the Case is the one in the focused
// tab). Every call goes through Apex (SwitchboardAgentChatController), which
// names the running user and calls the bridge through the Named Credential:
// this component never says who the agent is and never talks to the bridge.
import { LightningElement, api, wire } from 'lwc';
import { CurrentPageReference } from 'lightning/navigation';
import openChat from '@salesforce/apex/SwitchboardAgentChatController.openChat';
import chatHistory from '@salesforce/apex/SwitchboardAgentChatController.chatHistory';
import sendMessage from '@salesforce/apex/SwitchboardAgentChatController.sendMessage';

/** How often the chat asks for new messages. */
export const POLL_MS = 3000;

const ROLE_LABELS = { you: 'You', customer: 'Customer', agent: 'Agent', bot: 'Bot', system: 'Notice' };
const WEB_URL = /^https?:\/\//i;

// A message's id for the bridge, so a retried send is sent once.
function newClientId() {
    const bytes = new Uint8Array(16);
    if (globalThis.crypto && globalThis.crypto.getRandomValues) {
        globalThis.crypto.getRandomValues(bytes);
    } else {
        bytes.forEach((_, i) => {
            bytes[i] = Math.floor(Math.random() * 256);
        });
    }
    return 'lwc-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// What Apex's AuraHandledException (or the platform) says went wrong.
function reasonOf(error) {
    const body = error && error.body;
    if (body && typeof body.message === 'string' && body.message) return body.message;
    if (Array.isArray(body) && body.length && body[0].message) return body[0].message;
    return (error && error.message) || 'Chat is unavailable.';
}

// One message part as the template shows it: text, or a web link (an image
// with its thumbnail); a link is only ever http(s).
function viewOfPart(part, index) {
    const view = { key: String(index), isText: false, isLink: false, isPlain: false };
    const url = typeof part.url === 'string' && WEB_URL.test(part.url) ? part.url : null;
    if (part.kind === 'text') {
        return { ...view, isText: true, text: part.text };
    }
    let label;
    if (part.kind === 'image') label = 'image';
    else if (part.kind === 'file') label = part.name + (part.size ? ' (' + Math.ceil(part.size / 1024) + ' KB)' : '');
    else if (part.kind === 'sound') label = 'voice message' + (part.seconds ? ' (' + part.seconds + ' s)' : '');
    else if (part.kind === 'video') label = 'video';
    else label = part.text || '[' + part.msg_type + ']';
    if (!url) return { ...view, isPlain: true, text: part.kind === 'other' || !part.kind ? label : '[' + label + ']' };
    const thumbnail = typeof part.thumbnail === 'string' && WEB_URL.test(part.thumbnail) ? part.thumbnail : null;
    return { ...view, isLink: true, url, label, thumbnail };
}

function viewOfLine(line) {
    return {
        key: String(line.seq),
        seq: line.seq,
        className: 'line ' + line.speaker + (line.removed ? ' removed' : ''),
        role: ROLE_LABELS[line.speaker] || line.speaker,
        name: line.name,
        time: new Date(line.time * 1000).toLocaleTimeString(),
        removed: line.removed,
        parts: line.removed ? [] : line.parts.map(viewOfPart),
    };
}

export default class SwitchboardCaseChat extends LightningElement {
    /** The Case, on its record page. */
    @api recordId;

    lines = [];
    members = [];
    status = '';
    error = '';
    notice = '';
    canSend = false;
    dissolved = false;
    draft = '';
    sending = false;
    older = null;

    pageCaseId = null;
    openedFor = undefined;
    newest = null;
    timer = null;
    polling = false;
    pending = null;
    connected = false;

    /** In the utility bar: follows the Case of the focused tab. */
    @wire(CurrentPageReference)
    pageChanged(reference) {
        const attributes = (reference && reference.attributes) || {};
        this.pageCaseId = attributes.objectApiName === 'Case' && attributes.recordId ? attributes.recordId : null;
        if (this.connected) this.follow();
    }

    get caseId() {
        return this.recordId || this.pageCaseId;
    }

    /** Who is in the chat, as the join answer named them. */
    get membersText() {
        if (!this.members.length) return '';
        const who = this.members.map((m) => m.name + ' (' + (ROLE_LABELS[m.speaker] || m.speaker).toLowerCase() + ')');
        return 'In this chat: ' + who.join(', ');
    }

    get hasLines() {
        return this.lines.length > 0;
    }

    get showCompose() {
        return this.canSend && !this.dissolved;
    }

    get sendDisabled() {
        return this.sending || !this.draft.trim();
    }

    get hasOlder() {
        return this.older !== null && this.older !== undefined;
    }

    connectedCallback() {
        this.connected = true;
        this.follow();
    }

    disconnectedCallback() {
        this.connected = false;
        this.stop();
        this.openedFor = undefined;
    }

    stop() {
        if (this.timer) {
            clearInterval(this.timer);
            this.timer = null;
        }
    }

    // Opens the chat of the Case shown now, once per Case.
    follow() {
        const caseId = this.caseId;
        if (caseId === this.openedFor) return;
        this.stop();
        this.openedFor = caseId;
        this.lines = [];
        this.members = [];
        this.newest = null;
        this.older = null;
        this.canSend = false;
        this.dissolved = false;
        this.error = '';
        this.notice = '';
        this.pending = null;
        if (!caseId) {
            this.status = 'Open a Case to see its chat.';
            return;
        }
        this.status = 'Opening the chat…';
        this.open(caseId);
    }

    async open(caseId) {
        try {
            const answer = await openChat({ caseId });
            if (caseId !== this.openedFor) return;
            this.canSend = answer.can_send;
            this.dissolved = answer.dissolved;
            this.members = Array.isArray(answer.members) ? answer.members : [];
            this.describe(answer);
            await this.poll(caseId);
            if (caseId === this.openedFor && !this.dissolved) {
                // eslint-disable-next-line @lwc/lwc/no-async-operation
                this.timer = setInterval(() => this.poll(caseId), POLL_MS);
            }
        } catch (error) {
            if (caseId !== this.openedFor) return;
            this.status = '';
            this.error = reasonOf(error);
        }
    }

    describe(answer) {
        if (this.dissolved) this.status = 'This chat has ended.';
        else if (this.canSend) this.status = 'You are in the chat with the customer as ' + answer.you_name + '.';
        else this.status = 'Read-only: this Case is not yours. Take it, or accept it in Omni-Channel, to answer.';
    }

    // New messages since the newest shown.
    async poll(caseId) {
        if (this.polling) return;
        this.polling = true;
        try {
            const first = this.newest === null;
            const page = await chatHistory({ caseId, after: this.newest, before: null });
            if (caseId !== this.openedFor) return;
            if (first) this.older = page.older;
            this.merge(page.lines);
            if (page.dissolved && !this.dissolved) {
                this.dissolved = true;
                this.status = 'This chat has ended.';
                this.stop();
            }
            this.canSend = page.can_send;
            this.error = '';
        } catch (error) {
            if (caseId === this.openedFor) this.error = reasonOf(error);
        } finally {
            this.polling = false;
        }
    }

    async handleOlder() {
        const caseId = this.openedFor;
        try {
            const page = await chatHistory({ caseId, after: null, before: this.older });
            if (caseId !== this.openedFor) return;
            this.older = page.older;
            this.merge(page.lines);
        } catch (error) {
            this.error = reasonOf(error);
        }
    }

    merge(lines) {
        const bySeq = new Map(this.lines.map((line) => [line.seq, line]));
        (lines || []).forEach((line) => {
            bySeq.set(line.seq, viewOfLine(line));
            if (this.newest === null || line.seq > this.newest) this.newest = line.seq;
        });
        this.lines = Array.from(bySeq.values()).sort((a, b) => a.seq - b.seq);
    }

    handleInput(event) {
        this.draft = event.target.value;
    }

    handleKeydown(event) {
        if (event.key === 'Enter' && !event.shiftKey) {
            event.preventDefault();
            this.handleSend();
        }
    }

    async handleSend() {
        const text = this.draft.trim();
        const caseId = this.openedFor;
        if (!text || this.sending || !caseId) return;
        // A retry of the same text keeps its id: the bridge sends it once.
        if (!this.pending || this.pending.text !== text) this.pending = { text, clientId: newClientId() };
        this.sending = true;
        this.notice = '';
        try {
            const answer = await sendMessage({ caseId, text, clientId: this.pending.clientId });
            if (caseId !== this.openedFor) return;
            this.pending = null;
            this.draft = '';
            this.error = '';
            if (answer.sent === false) this.notice = 'Not delivered: the chat\u2019s moderation held the message back.';
            else if (answer.line) this.merge([answer.line]);
        } catch (error) {
            if (caseId === this.openedFor) this.error = reasonOf(error);
        } finally {
            this.sending = false;
        }
    }
}
