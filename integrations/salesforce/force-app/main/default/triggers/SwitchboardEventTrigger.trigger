trigger SwitchboardEventTrigger on Switchboard_Event__e(after insert) {
    SwitchboardTriggers.onHandOff(Trigger.new);
}
