package io.github.mxgovernor.it;

import java.util.List;
import java.util.Optional;

/**
 * What a {@link ReplyPolicy} sees when {@link FakeMxServer} is about to answer: the stage, the command line, the
 * transaction so far and, at {@link SmtpStage#END_OF_DATA}, the received message.
 */
public final class ClientCommand {
    private final SmtpStage stage;
    private final String line;
    private final int connectionNumber;
    private final int messagesAcceptedOnConnection;
    private final String sender;
    private final List<String> recipients;
    private final String address;
    private final byte[] content;
    private final String messageId;

    ClientCommand(SmtpStage stage, String line, int connectionNumber, int messagesAcceptedOnConnection, String sender,
                  List<String> recipients, String address, byte[] content, String messageId) {
        this.stage = stage;
        this.line = line;
        this.connectionNumber = connectionNumber;
        this.messagesAcceptedOnConnection = messagesAcceptedOnConnection;
        this.sender = sender;
        this.recipients = List.copyOf(recipients);
        this.address = address;
        this.content = content;
        this.messageId = messageId;
    }

    public SmtpStage stage() {
        return stage;
    }

    /**
     * The command line as received, without CRLF; empty for {@link SmtpStage#GREETING} and
     * {@link SmtpStage#END_OF_DATA}.
     */
    public String line() {
        return line;
    }

    /** 1 for the first connection the server accepted, 2 for the next, and so on. */
    public int connectionNumber() {
        return connectionNumber;
    }

    /** Messages already accepted on this connection, not counting the one being answered. */
    public int messagesAcceptedOnConnection() {
        return messagesAcceptedOnConnection;
    }

    /** The envelope sender of the open transaction ("" for the null sender), empty when no MAIL was accepted. */
    public Optional<String> sender() {
        return Optional.ofNullable(sender);
    }

    /** Recipients accepted so far in the open transaction. */
    public List<String> recipients() {
        return recipients;
    }

    /** The address in a MAIL or RCPT command, empty at other stages. */
    public Optional<String> address() {
        return Optional.ofNullable(address);
    }

    /** The received content (dot-unstuffed) at {@link SmtpStage#END_OF_DATA}, empty at other stages. */
    public byte[] content() {
        return content == null ? new byte[0] : content.clone();
    }

    /** The Message-ID header of the received content at {@link SmtpStage#END_OF_DATA}, if it has one. */
    public Optional<String> messageId() {
        return Optional.ofNullable(messageId);
    }
}
