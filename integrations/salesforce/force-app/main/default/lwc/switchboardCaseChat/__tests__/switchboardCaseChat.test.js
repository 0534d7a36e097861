import { createElement } from 'lwc';
import SwitchboardCaseChat, { POLL_MS } from 'c/switchboardCaseChat';
import { CurrentPageReference } from 'lightning/navigation';
import openChat from '@salesforce/apex/SwitchboardAgentChatController.openChat';
import chatHistory from '@salesforce/apex/SwitchboardAgentChatController.chatHistory';
import sendMessage from '@salesforce/apex/SwitchboardAgentChatController.sendMessage';

jest.mock('@salesforce/apex/SwitchboardAgentChatController.openChat', () => ({ default: jest.fn() }), { virtual: true });
jest.mock('@salesforce/apex/SwitchboardAgentChatController.chatHistory', () => ({ default: jest.fn() }), { virtual: true });
jest.mock('@salesforce/apex/SwitchboardAgentChatController.sendMessage', () => ({ default: jest.fn() }), { virtual: true });

const CASE_A = '500000000000001AAA';
const CASE_B = '500000000000002AAA';

const text = (seq, speaker, name, words) => ({
    seq,
    from: speaker === 'you' ? 'sf-005A' : 'alice',
    name,
    speaker,
    time: 1700000000 + seq,
    parts: [{ kind: 'text', text: words }],
    removed: false,
});

const OWNER = {
    can_send: true,
    assigned: true,
    dissolved: false,
    you: 'sf-005A',
    you_name: 'Ada Agent',
    members: [
        { account: 'alice', name: 'Alice', speaker: 'customer' },
        { account: 'sf-005A', name: 'Ada Agent', speaker: 'you' },
    ],
};
const READER = { can_send: false, assigned: false, dissolved: false, you: 'sf-005B', you_name: 'Bo Reader' };

// Apex promises and the re-render they cause.
async function settle() {
    for (let i = 0; i < 10; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function mount(recordId) {
    const element = createElement('c-switchboard-case-chat', { is: SwitchboardCaseChat });
    if (recordId) element.recordId = recordId;
    document.body.appendChild(element);
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);
const $$ = (element, selector) => Array.from(element.shadowRoot.querySelectorAll(selector));
const shownLines = (element) =>
    $$(element, 'li').map((li) => [li.querySelector('.role').textContent, li.querySelector('.who').textContent, li.textContent]);

function type(element, words) {
    const draft = $(element, 'lightning-textarea');
    draft.value = words;
    draft.dispatchEvent(new CustomEvent('change'));
}

async function pressSend(element) {
    await settle();
    $(element, 'lightning-button.send').dispatchEvent(new CustomEvent('click'));
    await settle();
}

beforeEach(() => {
    jest.useFakeTimers();
    openChat.mockResolvedValue(OWNER);
    chatHistory.mockResolvedValue({ lines: [], older: null, gap: false, can_send: true, dissolved: false });
});

afterEach(() => {
    while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    jest.clearAllTimers();
    jest.useRealTimers();
    jest.resetAllMocks();
});

describe('c-switchboard-case-chat', () => {
    it('shows the Case chat with who is who to its owner, who may answer', async () => {
        chatHistory.mockResolvedValue({
            lines: [text(1, 'system', 'administrator', 'Welcome'), text(2, 'customer', 'Alice', 'My order is late')],
            older: null,
            gap: false,
            can_send: true,
            dissolved: false,
        });
        const element = mount(CASE_A);
        await settle();
        expect(openChat).toHaveBeenCalledWith({ caseId: CASE_A });
        expect(chatHistory).toHaveBeenCalledWith({ caseId: CASE_A, after: null, before: null });
        expect($(element, '.status').textContent).toBe('You are in the chat with the customer as Ada Agent.');
        expect($(element, '.members').textContent).toBe('In this chat: Alice (customer), Ada Agent (you)');
        const lines = shownLines(element);
        expect(lines.map(([role, who]) => [role, who])).toEqual([
            ['Notice', 'administrator'],
            ['Customer', 'Alice'],
        ]);
        expect(lines[1][2]).toContain('My order is late');
        expect($(element, 'lightning-textarea')).not.toBeNull();
    });

    it('sends what the agent typed with a fresh client id and shows it', async () => {
        sendMessage.mockResolvedValue({ sent: true, seq: 3, line: text(3, 'you', 'Ada Agent', 'On its way'), client_id: 'x' });
        const element = mount(CASE_A);
        await settle();
        type(element, '  On its way ');
        await pressSend(element);
        expect(sendMessage).toHaveBeenCalledTimes(1);
        const call = sendMessage.mock.calls[0][0];
        expect(call.caseId).toBe(CASE_A);
        expect(call.text).toBe('On its way');
        expect(call.clientId).toMatch(/^lwc-[0-9a-f]{32}$/);
        expect(shownLines(element).map(([role]) => role)).toEqual(['You']);
        expect($(element, 'lightning-textarea').value).toBe('');
    });

    it('retries a failed send with the same client id, and a new message gets a new one', async () => {
        sendMessage
            .mockRejectedValueOnce({ body: { message: 'IM send failed: timed out' } })
            .mockResolvedValueOnce({ sent: true, seq: 3, line: text(3, 'you', 'Ada Agent', 'Hello') })
            .mockResolvedValueOnce({ sent: true, seq: 4, line: text(4, 'you', 'Ada Agent', 'Anything else?') });
        const element = mount(CASE_A);
        await settle();
        type(element, 'Hello');
        await pressSend(element);
        expect($(element, '.error').textContent).toBe('IM send failed: timed out');
        expect($(element, 'lightning-textarea').value).toBe('Hello');
        await pressSend(element);
        type(element, 'Anything else?');
        await pressSend(element);
        const ids = sendMessage.mock.calls.map(([call]) => call.clientId);
        expect(ids[1]).toBe(ids[0]);
        expect(ids[2]).not.toBe(ids[0]);
        expect($(element, '.error')).toBeNull();
    });

    it('says a held-back message was not delivered', async () => {
        sendMessage.mockResolvedValue({ sent: false, dropped: true });
        const element = mount(CASE_A);
        await settle();
        type(element, 'a word the moderator drops');
        await pressSend(element);
        expect($(element, '.notice').textContent).toContain('Not delivered');
        expect(shownLines(element)).toEqual([]);
    });

    it('is read-only for an agent the Case is not assigned to', async () => {
        openChat.mockResolvedValue(READER);
        chatHistory.mockResolvedValue({ lines: [text(2, 'customer', 'Alice', 'Hi')], older: null, can_send: false, dissolved: false });
        const element = mount(CASE_A);
        await settle();
        expect($(element, '.status').textContent).toMatch(/^Read-only: this Case is not yours/);
        expect($(element, 'lightning-textarea')).toBeNull();
        expect(shownLines(element)).toHaveLength(1);
    });

    it('shows the bridge refusal and does not poll', async () => {
        openChat.mockRejectedValue({ body: { message: 'Case 500 is not yours: own it or accept it in Omni-Channel to join its chat' } });
        const element = mount(CASE_A);
        await settle();
        jest.advanceTimersByTime(POLL_MS * 3);
        await settle();
        expect($(element, '.error').textContent).toContain('is not yours');
        expect(chatHistory).not.toHaveBeenCalled();
    });

    it('polls for what came after the newest line, and stops when taken off the page', async () => {
        chatHistory
            .mockResolvedValueOnce({ lines: [text(5, 'customer', 'Alice', 'one')], older: 4, can_send: true, dissolved: false })
            .mockResolvedValueOnce({ lines: [text(6, 'customer', 'Alice', 'two')], older: null, can_send: true, dissolved: false });
        const element = mount(CASE_A);
        await settle();
        expect($(element, 'lightning-button.older')).not.toBeNull();
        jest.advanceTimersByTime(POLL_MS);
        await settle();
        expect(chatHistory).toHaveBeenLastCalledWith({ caseId: CASE_A, after: 5, before: null });
        expect(shownLines(element).map(([, , words]) => words)).toEqual([
            expect.stringContaining('one'),
            expect.stringContaining('two'),
        ]);
        document.body.removeChild(element);
        const calls = chatHistory.mock.calls.length;
        jest.advanceTimersByTime(POLL_MS * 5);
        await settle();
        expect(chatHistory.mock.calls.length).toBe(calls);
    });

    it('links media only to web addresses', async () => {
        chatHistory.mockResolvedValue({
            lines: [
                {
                    seq: 1,
                    from: 'alice',
                    name: 'Alice',
                    speaker: 'customer',
                    time: 1700000000,
                    removed: false,
                    parts: [
                        { kind: 'image', url: 'https://cdn.example/i.jpg', thumbnail: 'https://cdn.example/t.jpg' },
                        { kind: 'file', url: 'javascript:alert(1)', name: 'x.pdf', size: 2048 },
                    ],
                },
            ],
            older: null,
            can_send: true,
            dissolved: false,
        });
        const element = mount(CASE_A);
        await settle();
        const links = $$(element, 'li a');
        expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://cdn.example/i.jpg']);
        expect($(element, 'li img.thumb').getAttribute('src')).toBe('https://cdn.example/t.jpg');
        expect($(element, 'li .plain').textContent).toBe('[x.pdf (2 KB)]');
    });

    it('in the utility bar follows the Case of the focused tab', async () => {
        chatHistory.mockImplementation(({ caseId }) =>
            Promise.resolve({
                lines: [text(1, 'customer', 'Alice', 'about ' + caseId)],
                older: null,
                can_send: true,
                dissolved: false,
            }),
        );
        const element = mount(null);
        await settle();
        expect($(element, '.status').textContent).toBe('Open a Case to see its chat.');
        CurrentPageReference.emit({ type: 'standard__recordPage', attributes: { recordId: CASE_A, objectApiName: 'Case', actionName: 'view' } });
        await settle();
        expect(openChat).toHaveBeenLastCalledWith({ caseId: CASE_A });
        CurrentPageReference.emit({ type: 'standard__recordPage', attributes: { recordId: CASE_B, objectApiName: 'Case', actionName: 'view' } });
        await settle();
        expect(openChat).toHaveBeenLastCalledWith({ caseId: CASE_B });
        const lines = shownLines(element);
        expect(lines).toHaveLength(1);
        expect(lines[0][2]).toContain('about ' + CASE_B);
        CurrentPageReference.emit({ type: 'standard__recordPage', attributes: { recordId: '001000000000001AAA', objectApiName: 'Account' } });
        await settle();
        expect($(element, '.status').textContent).toBe('Open a Case to see its chat.');
        expect(shownLines(element)).toEqual([]);
    });

    it('says when the chat has ended and stops polling', async () => {
        chatHistory.mockResolvedValue({ lines: [], older: null, can_send: false, dissolved: true });
        const element = mount(CASE_A);
        await settle();
        expect($(element, '.status').textContent).toBe('This chat has ended.');
        expect($(element, 'lightning-textarea')).toBeNull();
        const calls = chatHistory.mock.calls.length;
        jest.advanceTimersByTime(POLL_MS * 3);
        await settle();
        expect(chatHistory.mock.calls.length).toBe(calls);
    });
});
