"""Drawing shared by the frieze and the countdown display: fonts, text fitting, paging, colours, badges."""
