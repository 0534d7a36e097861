// A stand-in for lightning-textarea: a native textarea whose `value` is the
// element's, firing `change` as the agent types, as the real one does.
import { LightningElement, api } from 'lwc';

export default class Textarea extends LightningElement {
    @api label;
    @api variant;
    @api placeholder;
    @api maxLength;
    current = '';

    @api
    get value() {
        return this.current;
    }

    set value(value) {
        this.current = value || '';
        const box = this.template.querySelector('textarea');
        if (box && box.value !== this.current) box.value = this.current;
    }

    renderedCallback() {
        const box = this.template.querySelector('textarea');
        if (box.value !== this.current) box.value = this.current;
    }

    handleInput(event) {
        this.current = event.target.value;
        this.dispatchEvent(new CustomEvent('change', { detail: { value: this.current } }));
    }
}
