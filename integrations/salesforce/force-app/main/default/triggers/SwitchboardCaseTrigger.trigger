trigger SwitchboardCaseTrigger on Case (after insert, after update, after delete) {
    List<Map<String, Object>> events;
    if (Trigger.isInsert) {
        events = SwitchboardCaseEvents.fromCaseInsert(Trigger.new);
    } else if (Trigger.isUpdate) {
        events = SwitchboardCaseEvents.fromCaseUpdate(Trigger.new, Trigger.oldMap);
    } else {
        events = SwitchboardCaseEvents.fromCaseDelete(Trigger.old);
    }
    // One job for the whole (bulk) invocation.
    SwitchboardCallout.enqueue(events);
}
