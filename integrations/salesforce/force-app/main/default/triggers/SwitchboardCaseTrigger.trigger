trigger SwitchboardCaseTrigger on Case(after insert, after update, after delete, after undelete) {
    SwitchboardTriggers.onCase(Trigger.operationType, Trigger.new, Trigger.oldMap);
}
