// A stand-in for Salesforce's lightning-card (base components are not open
// source): a titled box around its content.
import { LightningElement, api } from 'lwc';

export default class Card extends LightningElement {
    @api title;
    @api iconName;
}
