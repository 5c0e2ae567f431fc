package io.github.mxgovernor.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class SmtpReplyTest {
    @Test
    void enhancedCodeShouldBeParsedFromFirstLine() {
        SmtpReply reply = new SmtpReply(421, List.of("4.7.28 unusual rate", "more"));

        assertThat(reply.enhancedCode()).contains(new EnhancedStatusCode(4, 7, 28));
        assertThat(reply.toString()).isEqualTo("421 4.7.28 unusual rate more");
    }

    @Test
    void enhancedCodeOfAnotherClassShouldBeKeptForTheClassifierToJudge() {
        assertThat(SmtpReply.of(250, "5.1.1 odd").enhancedCode()).contains(new EnhancedStatusCode(5, 1, 1));
        assertThat(SmtpReply.of(550, "4.7.1 try later").enhancedCode()).contains(new EnhancedStatusCode(4, 7, 1));
        assertThat(SmtpReply.of(451, "2.0.0 odd").enhancedCode()).contains(new EnhancedStatusCode(2, 0, 0));
    }
}
