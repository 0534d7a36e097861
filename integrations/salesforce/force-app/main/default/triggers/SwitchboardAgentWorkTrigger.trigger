trigger SwitchboardAgentWorkTrigger on AgentWork (after update) {
    SwitchboardCallout.enqueue(SwitchboardCaseEvents.fromAgentWork(Trigger.new, Trigger.oldMap));
}
