package io.github.mxgovernor.testing;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.james.mailrepository.api.MailKey;
import org.apache.james.mailrepository.api.MailRepository;
import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Mail;

/**
 * A {@link MailRepository} that outlives the mailets using it, as a persistent one does across a restart: each mail
 * is kept as bytes (its envelope and attributes serialized as James's file repository does, its message as MIME), so
 * nothing the mailet keeps a reference to is shared. Counts reads (to prove the index is rebuilt without them) and
 * fails on demand. Thread-safe.
 */
public final class MailRepositoryDouble implements MailRepository {
    private final Map<String, byte[][]> mails = new LinkedHashMap<>();
    private int retrieves;
    private int stores;
    private Predicate<String> failRetrieve = key -> false;
    private Predicate<String> failRemove = key -> false;
    private Predicate<String> failStore = key -> false;

    public synchronized MailRepositoryDouble failRetrieve(Predicate<String> keys) {
        this.failRetrieve = keys;
        return this;
    }

    public synchronized MailRepositoryDouble failRemove(Predicate<String> keys) {
        this.failRemove = keys;
        return this;
    }

    public synchronized MailRepositoryDouble failStore(Predicate<String> keys) {
        this.failStore = keys;
        return this;
    }

    /** How many mails were read so far. */
    public synchronized int retrieves() {
        return retrieves;
    }

    public synchronized int stores() {
        return stores;
    }

    public synchronized List<String> keys() {
        return new ArrayList<>(mails.keySet());
    }

    @Override
    public synchronized long size() {
        return mails.size();
    }

    @Override
    public MailKey store(Mail mail) throws MessagingException {
        byte[][] stored = {serialize(mail), mime(mail.getMessage())};
        synchronized (this) {
            stores++;
            if (failStore.test(mail.getName())) {
                throw new MessagingException("injected failure storing " + mail.getName());
            }
            mails.put(mail.getName(), stored);
        }
        return MailKey.forMail(mail);
    }

    @Override
    public synchronized Iterator<MailKey> list() {
        List<MailKey> keys = new ArrayList<>();
        mails.keySet().forEach(key -> keys.add(new MailKey(key)));
        return keys.iterator();
    }

    @Override
    public Mail retrieve(MailKey key) throws MessagingException {
        byte[][] stored;
        synchronized (this) {
            retrieves++;
            if (failRetrieve.test(key.asString())) {
                throw new MessagingException("injected failure reading " + key.asString());
            }
            stored = mails.get(key.asString());
        }
        if (stored == null) {
            return null;
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(stored[0]))) {
            MailImpl mail = (MailImpl) in.readObject();
            mail.setMessage(new MimeMessage(null, new ByteArrayInputStream(stored[1])));
            return mail;
        } catch (IOException | ClassNotFoundException e) {
            throw new MessagingException("cannot read " + key.asString(), e);
        }
    }

    @Override
    public synchronized void remove(MailKey key) throws MessagingException {
        if (failRemove.test(key.asString())) {
            throw new MessagingException("injected failure removing " + key.asString());
        }
        mails.remove(key.asString());
    }

    @Override
    public synchronized void removeAll() {
        mails.clear();
    }

    private static byte[] serialize(Mail mail) throws MessagingException {
        MailImpl envelope = MailImpl.duplicateWithoutMessage(mail).build();
        envelope.setName(mail.getName());
        envelope.setState(mail.getState());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(envelope);
        } catch (IOException e) {
            throw new MessagingException("cannot store " + mail.getName(), e);
        }
        return bytes.toByteArray();
    }

    private static byte[] mime(MimeMessage message) throws MessagingException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            message.writeTo(bytes);
        } catch (IOException e) {
            throw new MessagingException("cannot write the message", e);
        }
        return bytes.toByteArray();
    }
}
