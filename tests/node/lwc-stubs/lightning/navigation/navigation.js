// A stand-in for lightning/navigation's CurrentPageReference: the page a
// utility-bar item sees, the Case record page in the focused tab
// (`window.SWITCHBOARD_FOCUSED_CASE`), or none.
export class CurrentPageReference {
    constructor(callback) {
        this.callback = callback;
    }

    connect() {
        const recordId = window.SWITCHBOARD_FOCUSED_CASE;
        this.callback(
            recordId
                ? { type: 'standard__recordPage', attributes: { recordId, objectApiName: 'Case', actionName: 'view' } }
                : null,
        );
    }

    update() {}

    disconnect() {}
}
