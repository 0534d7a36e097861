// A stand-in for lightning-button: a native button, so a disabled one
// takes no click, as the real one.
import { LightningElement, api } from 'lwc';

export default class Button extends LightningElement {
    @api label;
    @api variant;
    @api disabled = false;
}
